package ui

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// keepFragment adds the page's fragment to the address the form returns
// to: MLflow's links put the run in it (/ws/w/#/experiments/1/runs/abc),
// and a browser never sends a fragment to the server. Without script the
// form still works and lands on the page without its fragment.
const keepFragment = `var n=document.getElementById("next");if(location.hash&&n.value.indexOf("#")<0)n.value+=location.hash;`

// loginCSP allows the page's one inline script, by its hash.
var loginCSP = func() string {
	sum := sha256.Sum256([]byte(keepFragment))
	return strings.Replace(CSP, "script-src 'self'", "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", 1)
}()

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · ciel studio</title>
<style>
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { display: grid; place-items: center; min-height: 100vh; margin: 0; }
main { width: min(22rem, 90vw); }
label, input, button { display: block; width: 100%; box-sizing: border-box; font: inherit; }
input { margin: .4rem 0 1rem; padding: .5rem; }
button { padding: .5rem; cursor: pointer; }
p.error { color: #d33; font-weight: 600; }
</style>
</head>
<body>
<main>
<h1>ciel studio</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" id="next" name="next" value="{{.Next}}">
<label for="token">Server token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p>The token is the server's <code>CIEL_TOKEN</code>. It is kept by this browser as a signed session, never in clear.</p>
</main>
<script>{{.Script}}</script>
</body>
</html>
`))

// LoginPage writes the sign-in page with status (401 for a page asked for
// without a session, or after a wrong token) and an error to show, if any;
// after sign-in the browser returns to next.
func (s *Studio) LoginPage(w http.ResponseWriter, status int, next, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", loginCSP)
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct {
		Error, Next string
		Script      template.JS
	}{msg, safeNext(next), template.JS(keepFragment)})
}

// ServeLogin answers GET /login: the sign-in page, or a redirect to where
// the user was going when there is nothing to sign in to (no token) or the
// session is already valid.
func (s *Studio) ServeLogin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s.token == "" || s.sessions.valid(r) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.LoginPage(w, http.StatusOK, next, "")
}

// Login answers POST /login with the token in a form (the page's) or in
// JSON ({"token": "..."}, for scripts): a right token sets the session
// cookie and goes on to next (303; 204 to JSON); a wrong one is a 401,
// the page again with an error. The guard has already refused a form from
// a page of another origin.
func (s *Studio) Login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token, next, asJSON, err := readLogin(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.token == "" {
		s.done(w, r, asJSON, next)
		return
	}
	if s.attempts != nil {
		if wait, ok := s.attempts.Check(r); !ok {
			s.tooMany(w, wait, asJSON, next)
			return
		}
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		if s.attempts != nil {
			s.attempts.Fail(r)
		}
		if asJSON {
			writeJSONError(w, http.StatusUnauthorized, "Unauthorized", "wrong token")
			return
		}
		s.LoginPage(w, http.StatusUnauthorized, next, "Wrong token. Try again.")
		return
	}
	v, exp := s.sessions.issue()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: v, Path: "/", Expires: exp, MaxAge: int(SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure || r.TLS != nil})
	s.done(w, r, asJSON, next)
}

// tooMany refuses a sign-in from a client over its limit of wrong tokens:
// 429 with Retry-After, the page again saying when to retry (or a JSON
// error). The token is not compared: a refusal that depended on it would
// tell a right guess from a wrong one.
func (s *Studio) tooMany(w http.ResponseWriter, wait time.Duration, asJSON bool, next string) {
	secs := int(max(wait.Round(time.Second), time.Second) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := fmt.Sprintf("Too many wrong tokens from this address. Try again in %d s.", secs)
	if asJSON {
		writeJSONError(w, http.StatusTooManyRequests, "TooManyRequests", msg)
		return
	}
	s.LoginPage(w, http.StatusTooManyRequests, next, msg)
}

// Logout answers POST /logout: the session is revoked and its cookie
// cleared; the browser goes to the sign-in page (204 to JSON).
func (s *Studio) Logout(w http.ResponseWriter, r *http.Request) {
	s.sessions.revoke(r)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure || r.TLS != nil})
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	s.done(w, r, mt == "application/json", "/login")
}

func (s *Studio) done(w http.ResponseWriter, r *http.Request, asJSON bool, next string) {
	w.Header().Set("Cache-Control", "no-store")
	if asJSON {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// readLogin reads the token and the page to return to from a form or JSON.
func readLogin(r *http.Request) (token, next string, asJSON bool, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var body struct {
			Token string `json:"token"`
			Next  string `json:"next"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return "", "", true, err
		}
		return body.Token, safeNext(body.Next), true, nil
	}
	if err := r.ParseForm(); err != nil {
		return "", "", false, err
	}
	return r.PostForm.Get("token"), safeNext(r.PostForm.Get("next")), false, nil
}

// safeNext returns p when it is a path on this server, else "/": a login
// must not be a way to send a user to another site ("//evil.example",
// "/\evil.example").
func safeNext(p string) string {
	if len(p) == 0 || len(p) > 2048 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) {
		return "/"
	}
	return p
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]map[string]string{"error": {"code": code, "message": msg}})
}
