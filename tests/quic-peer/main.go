// quic-peer - an independent SMB over QUIC test client (quic-go, Debian's
// golang-github-lucas-clemente-quic-go-dev), for smbrefd's integration
// tests, demo and benchmark.
//
// It opens a QUIC connection (TLS 1.3, ALPN "smb" unless -alpn says
// otherwise, optional client certificate), prints the TLS version, cipher
// and ALPN, opens stream 0 and sends one SMB2 NEGOTIATE (dialect 3.1.1,
// preauth integrity and encryption contexts) in the 4-byte Direct TCP
// framing, and prints the server's status and dialect.  With -count N it
// repeats that N times and prints handshakes per second.
//
// Output lines (stable, tests grep them):
//   tls=TLS1.3 cipher=... alpn=smb
//   server_cert_sha256=<hex>
//   negotiate status=0x00000000 dialect=0x0311
//   refused: <error>                 (exit 1)
//   handshakes=N seconds=S rate=R/s  (-count)
// With -hold D it stays connected and silent for D after the NEGOTIATE
// (its own idle timeout raised to 2D), for the server's idle timeout.
//
// Invariants: never verifies the server certificate unless -ca is given
// (tests make their own); writes the TLS key log only where -keylog says.
// Must never: talk to anything but the address it is given.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

func tlsName(v uint16) string {
	names := map[uint16]string{tls.VersionTLS12: "TLS1.2", tls.VersionTLS13: "TLS1.3"}
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", v)
}

// dialect is the one dialect the NEGOTIATE offers (-dialect; 3.1.1 by default).
var dialect uint16 = 0x0311

// negotiateRequest builds an SMB2 NEGOTIATE offering dialect ([MS-SMB2]
// 2.2.3; the 3.1.1 contexts are sent whatever it is), framed with the
// 4-byte Direct TCP header.
func negotiateRequest() []byte {
	msg := make([]byte, 64, 256)
	copy(msg[0:4], []byte{0xfe, 'S', 'M', 'B'})
	binary.LittleEndian.PutUint16(msg[4:], 64) // StructureSize
	binary.LittleEndian.PutUint16(msg[14:], 1) // CreditRequest
	body := make([]byte, 36)
	binary.LittleEndian.PutUint16(body[0:], 36) // StructureSize
	binary.LittleEndian.PutUint16(body[2:], 1)  // DialectCount
	binary.LittleEndian.PutUint16(body[4:], 1)  // SecurityMode: signing enabled
	rand.Read(body[12:28])                      // ClientGuid
	binary.LittleEndian.PutUint16(body[32:], 2) // NegotiateContextCount
	msg = append(msg, body...)
	msg = binary.LittleEndian.AppendUint16(msg, dialect)
	for len(msg)%8 != 0 {
		msg = append(msg, 0)
	}
	binary.LittleEndian.PutUint32(msg[64+28:], uint32(len(msg))) // NegotiateContextOffset
	// preauth integrity: SHA-512, 32-byte salt
	pre := make([]byte, 8+38)
	binary.LittleEndian.PutUint16(pre[0:], 1)
	binary.LittleEndian.PutUint16(pre[2:], 38)
	binary.LittleEndian.PutUint16(pre[8:], 1)
	binary.LittleEndian.PutUint16(pre[10:], 32)
	binary.LittleEndian.PutUint16(pre[12:], 1)
	rand.Read(pre[14:])
	msg = append(msg, pre...)
	for len(msg)%8 != 0 {
		msg = append(msg, 0)
	}
	// encryption: AES-128-GCM, AES-256-GCM
	enc := make([]byte, 8+6)
	binary.LittleEndian.PutUint16(enc[0:], 2)
	binary.LittleEndian.PutUint16(enc[2:], 6)
	binary.LittleEndian.PutUint16(enc[8:], 2)
	binary.LittleEndian.PutUint16(enc[10:], 2)
	binary.LittleEndian.PutUint16(enc[12:], 4)
	msg = append(msg, enc...)
	frame := []byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}
	return append(frame, msg...)
}

type result struct {
	tlsVersion, cipher, alpn string
	serverSHA256             string
	status                   uint32
	dialect                  uint16
}

func once(addr string, conf *tls.Config, hold time.Duration) (*result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+hold)
	defer cancel()
	qconf := &quic.Config{HandshakeIdleTimeout: 5 * time.Second}
	if hold > 0 {
		qconf.MaxIdleTimeout = 2 * hold // stay silent longer than the server's idle timeout
	}
	conn, err := quic.DialAddrContext(ctx, addr, conf, qconf)
	if err != nil {
		return nil, err
	}
	defer conn.CloseWithError(0, "")
	st := conn.ConnectionState().TLS
	r := &result{tlsVersion: tlsName(st.Version), cipher: tls.CipherSuiteName(st.CipherSuite),
		alpn: st.NegotiatedProtocol}
	if len(st.PeerCertificates) > 0 {
		r.serverSHA256 = fmt.Sprintf("%x", sha256.Sum256(st.PeerCertificates[0].Raw))
	}
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return r, err
	}
	if _, err := stream.Write(negotiateRequest()); err != nil {
		return r, err
	}
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(stream, hdr); err != nil {
		return r, err
	}
	n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if hdr[0] != 0 || n < 64+8 {
		return r, errors.New("malformed SMB2 frame")
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(stream, msg); err != nil {
		return r, err
	}
	if string(msg[0:4]) != "\xfeSMB" || binary.LittleEndian.Uint16(msg[12:]) != 0 {
		return r, errors.New("not an SMB2 NEGOTIATE response")
	}
	r.status = binary.LittleEndian.Uint32(msg[8:])
	r.dialect = binary.LittleEndian.Uint16(msg[64+4:])
	if hold > 0 {
		fmt.Printf("negotiate status=0x%08x dialect=0x%04x; holding the connection idle for %v\n",
			r.status, r.dialect, hold)
		time.Sleep(hold)
	}
	return r, nil
}

func main() {
	addr := flag.String("addr", "", "server HOST:PORT (UDP)")
	alpn := flag.String("alpn", "smb", "ALPN protocol to offer")
	cert := flag.String("cert", "", "client certificate chain (PEM, leaf first)")
	key := flag.String("key", "", "client private key (PEM)")
	ca := flag.String("ca", "", "verify the server against this CA (PEM); default: no verification")
	name := flag.String("servername", "localhost", "TLS server name")
	keylog := flag.String("keylog", "", "append the TLS key log (NSS format) to this file")
	count := flag.Int("count", 1, "handshakes to make (prints the rate when > 1)")
	hold := flag.Duration("hold", 0, "stay connected and silent this long after the NEGOTIATE")
	dia := flag.Uint("dialect", 0x0311, "the one dialect to offer (0x0300 = 3.0)")
	flag.Parse()
	dialect = uint16(*dia)
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "usage: quic-peer -addr HOST:PORT [-alpn smb] [-cert F -key F] [-keylog F] [-count N]")
		os.Exit(2)
	}
	conf := &tls.Config{NextProtos: []string{*alpn}, ServerName: *name, InsecureSkipVerify: *ca == "",
		MinVersion: tls.VersionTLS13}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		conf.RootCAs = x509.NewCertPool()
		conf.RootCAs.AppendCertsFromPEM(pem)
	}
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "client certificate:", err)
			os.Exit(2)
		}
		conf.Certificates = []tls.Certificate{c}
	}
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		conf.KeyLogWriter = f
	}
	start := time.Now()
	for i := 0; i < *count; i++ {
		r, err := once(*addr, conf, *hold)
		if i == 0 && r != nil {
			fmt.Printf("tls=%s cipher=%s alpn=%s\n", r.tlsVersion, r.cipher, r.alpn)
			fmt.Printf("server_cert_sha256=%s\n", r.serverSHA256)
		}
		if err != nil {
			var te *quic.TransportError
			if errors.As(err, &te) {
				fmt.Printf("refused: %v (transport error 0x%x, remote=%v)\n", err, uint64(te.ErrorCode), te.Remote)
			} else {
				fmt.Printf("refused: %v\n", err)
			}
			os.Exit(1)
		}
		if i == 0 {
			fmt.Printf("negotiate status=0x%08x dialect=0x%04x\n", r.status, r.dialect)
		}
	}
	if *count > 1 {
		s := time.Since(start).Seconds()
		fmt.Printf("handshakes=%d seconds=%.3f rate=%.1f/s\n", *count, s, float64(*count)/s)
	}
}
