// Prints every GELF message Graylog's go-gelf reader (Debian's
// golang-github-graylog2-go-gelf-dev) decodes, one JSON line each.
// Usage: receive-gogelf PORT. go-gelf reads datagrams of up to 1420 bytes.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/Graylog2/go-gelf/gelf"
)

func main() {
	r, err := gelf.NewReader("127.0.0.1:" + os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "listening", r.Addr())
	for {
		m, err := r.ReadMessage()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error", err)
			continue
		}
		var b bytes.Buffer
		if err := m.MarshalJSONBuf(&b); err != nil {
			fmt.Fprintln(os.Stderr, "error", err)
			continue
		}
		b.WriteByte('\n')
		os.Stdout.Write(b.Bytes())
	}
}
