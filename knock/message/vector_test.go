package message

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// The message vector of docs/port-language.md holds: its seed, tag and
// frame are computed here from the document's rules with crypto/hmac and
// crypto/aes, not through Code, and Code's permutation and knocks are the
// document's.
func TestDocumentVector(t *testing.T) {
	data, err := os.ReadFile("../../docs/port-language.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(data), "```message-vector\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/port-language.md has no message-vector block")
	}
	v := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		k, val, _ := strings.Cut(line, ": ")
		v[k] = val
	}
	key, _ := hex.DecodeString(v["key"])
	period, _ := strconv.ParseInt(v["period"], 10, 64)
	parity, _ := strconv.Atoi(v["parity"])
	text := []byte(v["text"])

	// The seed: block 0 of the message stream, by crypto/hmac.
	msg, _ := portlang.Message(portlang.Params{Purpose: "message", Name: v["door"], Period: period})
	mac := hmac.New(sha256.New, key)
	mac.Write(append(msg, 0, 0, 0, 0))
	seed := mac.Sum(nil)
	if hex.EncodeToString(seed) != v["seed"] {
		t.Errorf("seed %x, document %s", seed, v["seed"])
	}
	// The first words of AES-256-CTR under it, and the shuffle's first
	// swap: π[N-1] swaps with the first uniform draw below N.
	blk, _ := aes.NewCipher(seed)
	ks := make([]byte, 64)
	cipher.NewCTR(blk, make([]byte, 16)).XORKeyStream(ks, ks)
	c, err := NewCode(key, v["door"], period, portlang.Shape{Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := newWords([32]byte(seed))
	for i := 0; i < 16; i++ {
		if got, want := w.word(), binary.BigEndian.Uint32(ks[4*i:]); got != want {
			t.Fatalf("word %d = %08x, AES-CTR gives %08x", i, got, want)
		}
	}
	if got := strings.Trim(fmt.Sprint(c.perm[:8]), "[]"); got != v["perm_head"] {
		t.Errorf("π[0:8] = %s, document %s", got, v["perm_head"])
	}
	// The tag and the frame, spelled out.
	header := []byte{byte(len(text) >> 8), byte(len(text)), byte(parity)}
	tmsg, _ := portlang.Message(portlang.Params{Purpose: "message tag", Name: v["door"], Period: period})
	mac = hmac.New(sha256.New, key)
	mac.Write(tmsg)
	mac.Write(header)
	mac.Write(text)
	tag := mac.Sum(nil)[:8]
	if hex.EncodeToString(tag) != v["tag"] {
		t.Errorf("tag %x, document %s", tag, v["tag"])
	}
	frameBytes := append(append(append(append([]byte{}, header...), header...), text...), tag...)
	var nibbles strings.Builder
	for _, b := range frameBytes {
		fmt.Fprintf(&nibbles, "%x%x", b>>4, b&15)
	}
	dataHex := nibbles.String()[12:]
	for j := range parity {
		var x byte
		for k := j; k < len(dataHex); k += parity {
			n, _ := strconv.ParseUint(dataHex[k:k+1], 16, 8)
			x ^= byte(n)
		}
		fmt.Fprintf(&nibbles, "%x", x)
	}
	if nibbles.String() != v["nibbles"] {
		t.Errorf("frame %s, document %s", nibbles.String(), v["nibbles"])
	}
	steps, err := c.Encode(text, parity)
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for i, st := range steps {
		ports = append(ports, strconv.Itoa(int(st.Port)))
		n, _ := strconv.ParseUint(v["nibbles"][i:i+1], 16, 8)
		if want := 20000 + int(c.perm[16*i+int(n)]); int(st.Port) != want {
			t.Errorf("knock %d on %d, π(16×%d+%d) gives %d", i, st.Port, i, n, want)
		}
	}
	if got := strings.Join(ports, " "); got != v["knocks"] {
		t.Errorf("knocks\n got %s\n doc %s", got, v["knocks"])
	}
}
