package gossip

import (
	"bytes"
	"testing"

	"github.com/hashicorp/memberlist"
)

// TestPacketBudget checks the budget against memberlist's room for user
// broadcasts (UDPBufferSize 1400): 1400 - 2 (compound header) - 2
// (compound entry) - 1 (user message type), minus the label header and the
// encryption overhead, minus 16 bytes of slack.
func TestPacketBudget(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 16)
	keyring, err := memberlist.NewKeyring(nil, key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		adjust func(*memberlist.Config)
		want   int
	}{
		{name: "plain", adjust: func(*memberlist.Config) {}, want: 1379},
		{name: "label", adjust: func(mc *memberlist.Config) { mc.Label = "abc" }, want: 1379 - 5},
		{name: "secret key", adjust: func(mc *memberlist.Config) { mc.SecretKey = key }, want: 1379 - 29},
		{name: "keyring", adjust: func(mc *memberlist.Config) { mc.Keyring = keyring }, want: 1379 - 29},
		{name: "empty keyring", adjust: func(mc *memberlist.Config) {
			mc.Keyring = &memberlist.Keyring{}
		}, want: 1379},
		{name: "secret key, protocol 1", adjust: func(mc *memberlist.Config) {
			mc.SecretKey, mc.ProtocolVersion = key, 1
		}, want: 1379 - 45},
		{name: "secret key and label", adjust: func(mc *memberlist.Config) {
			mc.SecretKey, mc.Label = key, "abc"
		}, want: 1379 - 29 - 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := memberlist.DefaultLANConfig()
			tc.adjust(mc)
			if got := packetBudget(mc); got != tc.want {
				t.Errorf("packetBudget = %d, want %d", got, tc.want)
			}
		})
	}
}
