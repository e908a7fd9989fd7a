package guard

import (
	"net"
	"os"
	"strconv"
	"strings"
)

// hostSet is the set of Host header values a server answers.
type hostSet struct {
	any      bool
	names    map[string]bool
	suffixes []string // from "*.example.com": ".example.com"
}

// newHostSet returns the hosts of a server listening on listen: the
// loopback names always; the listen host when it is a specific one; every
// interface address and the hostname when it is a wildcard; and extra.
func newHostSet(listen string, extra []string) hostSet {
	s := hostSet{names: map[string]bool{"localhost": true}}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					s.names[n.IP.String()] = true
				}
			}
		}
		if hn, err := os.Hostname(); err == nil && hn != "" {
			s.names[strings.ToLower(hn)] = true
		}
	} else if host != "" {
		s.names[normalHost(host)] = true
	}
	for _, h := range extra {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
		case h == "*":
			s.any = true
		case strings.HasPrefix(h, "*."):
			s.suffixes = append(s.suffixes, h[1:])
		default:
			s.names[normalHost(h)] = true
		}
	}
	return s
}

// normalHost lowercases a host, drops a port and IPv6 brackets, and writes
// IPs in their canonical form.
func normalHost(h string) string {
	h = strings.ToLower(h)
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return strings.TrimSuffix(h, ".")
}

// allows reports whether a request's Host header names this server.
func (s hostSet) allows(hostHeader string) bool {
	if s.any {
		return true
	}
	if hostHeader == "" {
		return false // HTTP/1.1 requires Host; an empty one names nothing
	}
	h := normalHost(hostHeader)
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	if s.names[h] || strings.HasSuffix(h, ".localhost") {
		return true
	}
	for _, suf := range s.suffixes {
		if strings.HasSuffix(h, suf) && len(h) > len(suf) {
			return true
		}
	}
	return false
}

func quote(s string) string { return strconv.Quote(s) }
