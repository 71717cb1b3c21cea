// Command gohost is a stand-in for a Go Baton host (the baton-sdk parent, docs/protocol.md "Handshake"), written with the
// standard library only: it spawns a connector's `_connector-service` child with a fresh Ed25519 mTLS credential
// (base64 ServerConfig line on stdin, listener on fd 3), dials it over TLS + HTTP/2 and makes real gRPC unary calls
// (hand-framed). It prints one JSON line with the results as the last line of stdout and exits non-zero on any
// mismatch.
//
// Usage: gohost -type <resource_type_id> -- <command> [args...]
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ---------------------------------------------------------------------------------------------------------------
// Failure handling
// ---------------------------------------------------------------------------------------------------------------

var child *exec.Cmd

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gohost: FAIL: "+format+"\n", a...)
	if child != nil && child.Process != nil {
		_ = child.Process.Kill() // an error here just means it has already exited
	}
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials (docs/protocol.md, "Credentials and mutual TLS")
// ---------------------------------------------------------------------------------------------------------------

type credential struct {
	caCert []byte
	key    ed25519.PrivateKey // Go raw form: 32-byte seed + 32-byte public key
	cert   []byte
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	must(err, "serial")
	return n
}

func subject(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Country: []string{"US"}, Province: []string{"OR"}, Locality: []string{"Portland"},
		Organization: []string{"ConductorOne"}, OrganizationalUnit: []string{"connector sdk"}}
}

func generateCredentials() (client, server credential) {
	now := time.Now()
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	must(err, "CA key")
	ca := &x509.Certificate{
		SerialNumber: serial(), Subject: subject("c1-connector-ca"),
		NotBefore: now, NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	must(err, "CA certificate")
	caParsed, err := x509.ParseCertificate(caDER)
	must(err, "parse CA certificate")
	leaf := func(cn string) credential {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		must(err, cn+" key")
		tmpl := &x509.Certificate{
			SerialNumber: serial(), Subject: subject(cn),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
			NotBefore:   now, NotAfter: now.AddDate(1, 0, 0),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caParsed, pub, caKey)
		must(err, cn+" certificate")
		return credential{caCert: caDER, key: priv, cert: der}
	}
	return leaf("c1-connector-client"), leaf("c1-connector-server")
}

// utls.ClientConfig
func clientTLS(c credential) *tls.Config {
	ca, err := x509.ParseCertificate(c.caCert)
	must(err, "parse CA")
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{c.cert}, PrivateKey: c.key}},
		ServerName:   "127.0.0.1",
		NextProtos:   []string{"h2"},
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal protobuf wire format
// ---------------------------------------------------------------------------------------------------------------

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendBytes(b []byte, field int, v []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendUint(b []byte, field int, v uint64) []byte {
	b = appendVarint(b, uint64(field)<<3|0)
	return appendVarint(b, v)
}

type pbField struct {
	num   int
	wire  int
	value uint64 // varint / fixed
	bytes []byte // length-delimited
}

func parsePB(b []byte) ([]pbField, error) {
	var out []pbField
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad tag")
		}
		b = b[n:]
		f := pbField{num: int(tag >> 3), wire: int(tag & 7)}
		switch f.wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, errors.New("bad varint")
			}
			f.value, b = v, b[n:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("short fixed64")
			}
			f.value, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, errors.New("bad length")
			}
			f.bytes, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("short fixed32")
			}
			f.value, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return nil, fmt.Errorf("unsupported wire type %d", f.wire)
		}
		out = append(out, f)
	}
	return out, nil
}

func mustParse(b []byte, what string) []pbField {
	f, err := parsePB(b)
	must(err, "decode "+what)
	return f
}

func firstBytes(fs []pbField, num int) []byte {
	for _, f := range fs {
		if f.num == num && f.wire == 2 {
			return f.bytes
		}
	}
	return nil
}

func firstVarint(fs []pbField, num int) uint64 {
	for _, f := range fs {
		if f.num == num && f.wire == 0 {
			return f.value
		}
	}
	return 0
}

func countField(fs []pbField, num int) int {
	n := 0
	for _, f := range fs {
		if f.num == num {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------------------------------------------
// Hand-framed gRPC unary calls over net/http's HTTP/2 transport
// ---------------------------------------------------------------------------------------------------------------

type rpcResult struct {
	status  int
	message string
	body    []byte
	proto   string
	alpn    string
	tlsVer  uint16
}

func unary(ctx context.Context, hc *http.Client, port int, method string, req []byte) (*rpcResult, error) {
	frame := make([]byte, 5, 5+len(req))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(req)))
	frame = append(frame, req...)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("https://127.0.0.1:%d%s", port, method),
		bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("content-type", "application/grpc")
	hreq.Header.Set("te", "trailers")
	hreq.Header.Set("user-agent", "gohost/1 (baton go-host stand-in)")
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body) // trailers are available once the body is drained
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	r := &rpcResult{proto: resp.Proto}
	if resp.TLS != nil {
		r.alpn, r.tlsVer = resp.TLS.NegotiatedProtocol, resp.TLS.Version
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP status %d", method, resp.StatusCode)
	}
	if ct := resp.Header.Get("content-type"); !strings.HasPrefix(ct, "application/grpc") {
		return nil, fmt.Errorf("%s: content-type %q", method, ct)
	}
	// grpc-status lives in the trailers, or in the headers for a trailers-only response.
	st := resp.Trailer.Get("grpc-status")
	msg := resp.Trailer.Get("grpc-message")
	if st == "" {
		st, msg = resp.Header.Get("grpc-status"), resp.Header.Get("grpc-message")
	}
	if st == "" {
		return nil, fmt.Errorf("%s: no grpc-status in trailers or headers", method)
	}
	if r.status, err = strconv.Atoi(st); err != nil {
		return nil, fmt.Errorf("%s: bad grpc-status %q", method, st)
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	r.message = msg
	if len(data) > 0 {
		if len(data) < 5 {
			return nil, fmt.Errorf("%s: short gRPC frame (%d bytes)", method, len(data))
		}
		if data[0] != 0 {
			return nil, fmt.Errorf("%s: compressed reply frame not expected", method)
		}
		n := binary.BigEndian.Uint32(data[1:5])
		if int(n) != len(data)-5 {
			return nil, fmt.Errorf("%s: frame length %d but %d bytes follow", method, n, len(data)-5)
		}
		r.body = data[5:]
	}
	return r, nil
}

func tlsName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// ---------------------------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------------------------

func main() {
	resourceType := flag.String("type", "", "resource_type_id for ListResources")
	flag.Parse()
	args := flag.Args()
	if *resourceType == "" || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: gohost -type <resource_type_id> -- <command> [args...]")
		os.Exit(2)
	}

	// 1. credentials (2.5)
	clientCred, serverCred := generateCredentials()

	// 2. listener on loopback, dup'ed for the child (2.2 step 2)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 0})
	must(err, "listen")
	port := ln.Addr().(*net.TCPAddr).Port
	lnFile, err := ln.File()
	must(err, "listener file")

	// 4. ServerConfig{credential=1{ca_cert=1,key=2,cert=3}, listen_port=3}
	var cred []byte
	cred = appendBytes(cred, 1, serverCred.caCert)
	cred = appendBytes(cred, 2, serverCred.key)
	cred = appendBytes(cred, 3, serverCred.cert)
	var serverConfig []byte
	serverConfig = appendBytes(serverConfig, 1, cred)
	serverConfig = appendUint(serverConfig, 3, uint64(port))

	// 5-8. spawn the child
	child = exec.Command(args[0], append(append([]string{}, args[1:]...), "_connector-service")...)
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	child.ExtraFiles = []*os.File{lnFile}
	child.Env = append(os.Environ(), "BATON_CONNECTOR_SERVICE_LISTENER_FD=3")
	stdin, err := child.StdinPipe()
	must(err, "stdin pipe")
	_, err = io.WriteString(stdin, base64.StdEncoding.EncodeToString(serverConfig)+"\n")
	must(err, "write ServerConfig line")
	must(child.Start(), "start child")
	// The child owns the socket now; our copies are not needed.
	_ = lnFile.Close()
	_ = ln.Close()
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()

	// 10. dial (2.7): TLS + h2 via net/http.
	tr := &http.Transport{TLSClientConfig: clientTLS(clientCred), ForceAttemptHTTP2: true}
	hc := &http.Client{Transport: tr}
	bg := context.Background()

	// (1) RateLimiterService/Do, retried for up to 5 s (the SDK's dial retry window).
	var doReq []byte
	doReq = appendBytes(doReq, 1, []byte("go-host"))
	doReq = appendBytes(doReq, 2, []byte("connector"))
	deadline := time.Now().Add(5 * time.Second)
	var do *rpcResult
	for attempt := 1; ; attempt++ {
		select {
		case err := <-exited:
			fail("child exited before serving: %v", err)
		default:
		}
		ctx, cancel := context.WithDeadline(bg, deadline)
		do, err = unary(ctx, hc, port, "/c1.ratelimit.v1.RateLimiterService/Do", doReq)
		cancel()
		if err == nil {
			break
		}
		if time.Now().Add(500 * time.Millisecond).After(deadline) {
			fail("first call (Do) did not succeed within 5 s (attempt %d): %v", attempt, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if do.proto != "HTTP/2.0" || do.alpn != "h2" {
		fail("negotiated %s (ALPN %q), want HTTP/2.0 with ALPN h2", do.proto, do.alpn)
	}
	if do.status != 0 {
		fail("Do: grpc-status %d (%s), want 0", do.status, do.message)
	}
	doResp := mustParse(do.body, "DoResponse")
	token := string(firstBytes(doResp, 1))
	if token != "go-host" {
		fail("Do: request_token %q, want echo %q", token, "go-host")
	}
	descr := firstBytes(doResp, 2)
	if descr == nil {
		fail("Do: no description")
	}
	rlStatus := firstVarint(mustParse(descr, "RateLimitDescription"), 1)
	if rlStatus != 4 {
		fail("Do: description.status %d, want 4 (STATUS_EMPTY)", rlStatus)
	}

	call := func(method string, req []byte) *rpcResult {
		ctx, cancel := context.WithTimeout(bg, 20*time.Second)
		defer cancel()
		r, err := unary(ctx, hc, port, method, req)
		must(err, method)
		return r
	}

	// (2) GetMetadata
	md := call("/c1.connector.v2.ConnectorService/GetMetadata", nil)
	if md.status != 0 {
		fail("GetMetadata: grpc-status %d (%s), want 0", md.status, md.message)
	}
	meta := firstBytes(mustParse(md.body, "GetMetadataResponse"), 1)
	if meta == nil {
		fail("GetMetadata: no metadata")
	}
	displayName := string(firstBytes(mustParse(meta, "ConnectorMetadata"), 1))
	if displayName == "" {
		fail("GetMetadata: empty display_name")
	}

	// (3) Validate
	v := call("/c1.connector.v2.ConnectorService/Validate", nil)
	if v.status != 0 {
		fail("Validate: grpc-status %d (%s), want 0", v.status, v.message)
	}
	mustParse(v.body, "ValidateResponse")

	// (4) ListResources
	lr := call("/c1.connector.v2.ResourcesService/ListResources", appendBytes(nil, 1, []byte(*resourceType)))
	if lr.status != 0 {
		fail("ListResources(%s): grpc-status %d (%s), want 0", *resourceType, lr.status, lr.message)
	}
	lrResp := mustParse(lr.body, "ListResourcesResponse")
	count := countField(lrResp, 1)
	nextPageToken := string(firstBytes(lrResp, 2))

	// (5) invalid request: empty resource_type_id
	bad := call("/c1.connector.v2.ResourcesService/ListResources", nil)
	if bad.status != 3 {
		fail("ListResources(empty type): grpc-status %d (%s), want 3 (InvalidArgument)", bad.status, bad.message)
	}
	if !strings.Contains(bad.message, "ResourceTypeId") {
		fail("ListResources(empty type): grpc-message %q does not mention ResourceTypeId", bad.message)
	}

	// Close (2.6): connection first, then stdin; the child must exit 0 within 1 s.
	tr.CloseIdleConnections()
	must(stdin.Close(), "close stdin")
	exitCode := -1
	select {
	case err := <-exited:
		if err != nil {
			fail("child exit after stdin close: %v, want status 0", err)
		}
		exitCode = 0
	case <-time.After(1 * time.Second):
		fail("child did not exit within 1 s of stdin close")
	}

	out, _ := json.Marshal(map[string]any{
		"ok":          true,
		"proto":       do.proto,
		"alpn":        do.alpn,
		"tls":         tlsName(do.tlsVer),
		"listenPort":  port,
		"rateLimit":   map[string]any{"requestToken": token, "status": rlStatus},
		"displayName": displayName,
		"validate":    v.status,
		"list": map[string]any{
			"resourceTypeId": *resourceType, "count": count, "nextPageToken": nextPageToken,
		},
		"invalid":   map[string]any{"status": bad.status, "message": bad.message},
		"childExit": exitCode,
	})
	fmt.Println(string(out))
}
