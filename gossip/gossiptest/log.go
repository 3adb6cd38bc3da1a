package gossiptest

import (
	"io"
	"log"
)

var discardLogger = log.New(io.Discard, "", 0)
