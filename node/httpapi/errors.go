package httpapi

import "errors"

// Sentinel errors. Returned errors wrap them with details.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("httpapi: invalid config")
	// ErrBadRequest reports a request body or parameter that does not
	// decode; the HTTP answer is 400 with the message.
	ErrBadRequest = errors.New("httpapi: bad request")
)
