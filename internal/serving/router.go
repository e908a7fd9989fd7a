package serving

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// route is one deployment in a routing table: for live traffic, bound is
// the cumulative percent below which a slot goes to it; for mirrored
// traffic, the percent copied to it.
type route struct {
	pool  *pool
	bound int
}

// routeTable is an endpoint's routing at one moment. It is immutable: a
// traffic change builds a new table and swaps it in, so a request sees one
// consistent split.
type routeTable struct {
	live   []route
	mirror []route
	pools  map[string]*pool // every deployment that serves, for the header
}

// newRouteTable builds the table for a traffic split; deployments without
// a pool are left out.
func newRouteTable(traffic, mirror map[string]int, pools map[string]*pool) *routeTable {
	t := &routeTable{pools: pools}
	cum := 0
	for _, name := range spec.DeploymentNames(traffic) {
		p, ok := pools[name]
		if !ok || traffic[name] <= 0 {
			continue
		}
		cum += traffic[name]
		t.live = append(t.live, route{pool: p, bound: cum})
	}
	for _, name := range spec.DeploymentNames(mirror) {
		if p, ok := pools[name]; ok && mirror[name] > 0 {
			t.mirror = append(t.mirror, route{pool: p, bound: mirror[name]})
		}
	}
	return t
}

// slot maps the n-th request to a percent in 0..99. 37 and 100 are
// coprime, so every 100 consecutive requests take every slot once: a split
// is exact over each hundred requests, and spread within it.
func slot(n uint64) int { return int(n * 37 % 100) }

// mirrorSlot is slot for mirrored traffic, shuffled differently.
func mirrorSlot(n uint64) int { return int((n*73 + 11) % 100) }

// pick returns the deployment the n-th request goes to, or nil when no
// deployment gets live traffic.
func (t *routeTable) pick(n uint64) *pool {
	s := slot(n)
	for _, r := range t.live {
		if s < r.bound {
			return r.pool
		}
	}
	return nil
}

// mirrors calls fn for each deployment the n-th request is copied to.
func (t *routeTable) mirrors(n uint64, fn func(*pool)) {
	if len(t.mirror) == 0 {
		return
	}
	s := mirrorSlot(n)
	for _, r := range t.mirror {
		if s < r.bound {
			fn(r.pool)
		}
	}
}

// checkTraffic reports what is wrong with a traffic split and a mirror
// split over the deployments that exist.
func checkTraffic(traffic, mirror map[string]int, exists func(string) bool) error {
	sum := 0
	for _, name := range spec.DeploymentNames(traffic) {
		v := traffic[name]
		if v < 0 || v > 100 {
			return invalidf("traffic for %s is %d; expected a percent from 0 to 100", name, v)
		}
		if !exists(name) {
			return invalidf("traffic names deployment %s, which this endpoint does not have", name)
		}
		sum += v
	}
	if sum != 0 && sum != 100 {
		return invalidf("traffic adds up to %d; it must add up to 100 (or 0)", sum)
	}
	msum := 0
	for _, name := range spec.DeploymentNames(mirror) {
		v := mirror[name]
		if v < 0 || v > spec.MaxMirrorPercent {
			return invalidf("mirror traffic for %s is %d; expected a percent from 0 to %d", name, v, spec.MaxMirrorPercent)
		}
		if !exists(name) {
			return invalidf("mirror traffic names deployment %s, which this endpoint does not have", name)
		}
		if v > 0 && traffic[name] > 0 {
			return invalidf("deployment %s gets live traffic (%d%%); only a deployment with no live traffic can be mirrored to", name, traffic[name])
		}
		msum += v
	}
	if msum > spec.MaxMirrorPercent {
		return invalidf("mirror traffic adds up to %d; at most %d%% can be mirrored", msum, spec.MaxMirrorPercent)
	}
	return nil
}

// auth is how an endpoint checks callers: its mode, keys and token secret.
type auth struct {
	mode        string
	keys        [2][]byte
	tokenSecret []byte
}

func authOf(e Endpoint) *auth {
	return &auth{mode: e.AuthMode, keys: [2][]byte{[]byte(e.PrimaryKey), []byte(e.SecondaryKey)}, tokenSecret: []byte(e.TokenSecret)}
}

// check reports whether an Authorization header lets the caller in.
func (a *auth) check(header, endpoint string, now time.Time) bool {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := []byte(strings.TrimSpace(cred))
	if a.mode == spec.AuthAMLToken {
		return verifyToken(a.tokenSecret, endpoint, string(got), now)
	}
	k0 := subtle.ConstantTimeCompare(got, a.keys[0])
	k1 := subtle.ConstantTimeCompare(got, a.keys[1])
	return len(got) > 0 && k0|k1 == 1
}

// tokenLifetime is how long an aml_token is valid, as in Azure ML.
const tokenLifetime = 24 * time.Hour

// newSecret returns 32 random bytes in base64url, for keys and secrets.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenClaims is what an aml_token says.
type tokenClaims struct {
	Endpoint string `json:"endpoint"`
	Expires  int64  `json:"exp"`
}

// signToken returns an aml_token for endpoint, valid until exp: base64url
// claims, a dot, and their HMAC-SHA256 under the endpoint's secret.
func signToken(secret []byte, endpoint string, exp time.Time) string {
	claims, _ := json.Marshal(tokenClaims{Endpoint: endpoint, Expires: exp.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verifyToken reports whether token was signed with secret for endpoint
// and has not expired.
func verifyToken(secret []byte, endpoint, token string, now time.Time) bool {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(secret) == 0 {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(payload))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return false
	}
	var c tokenClaims
	if json.Unmarshal(raw, &c) != nil {
		return false
	}
	return c.Endpoint == endpoint && now.Unix() < c.Expires
}

// sortedPools returns a table's deployments by name.
func (t *routeTable) sortedPools() []*pool {
	out := make([]*pool, 0, len(t.pools))
	for _, p := range t.pools {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pool) int { return strings.Compare(a.name, b.name) })
	return out
}
