package cicd

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/store"
)

// DefaultPollInterval is how often the service fetches every external
// pipeline's repository when Config.PollInterval is 0.
const DefaultPollInterval = 60 * time.Second

// Mirrors is the optional ability of Repos to mirror repositories from
// outside ciel; githost.Host has it. Without it a pipeline cannot name a
// RepositoryURL.
type Mirrors interface {
	// Mirror clones url into a new hosted repository ws/name; an error
	// wrapping githost.ErrBadURL for a URL it refuses and
	// githost.ErrExists when the repository is there already.
	Mirror(ctx context.Context, ws, name, url string) (githost.Repo, error)
	// Fetch brings the mirror ws/name up to date and returns each ref that
	// changed, once: concurrent fetches of one mirror are serialised.
	Fetch(ctx context.Context, ws, name string) ([]githost.PushEvent, error)
	// Delete removes the hosted repository ws/name.
	Delete(ctx context.Context, ws, name string) error
}

// createExternal mirrors p.RepositoryURL into the hosted repository
// ext-<name>, gives p a webhook secret and stores it. The mirror is removed
// again when the pipeline cannot be stored.
func (s *Service) createExternal(ctx context.Context, p Pipeline) (Pipeline, error) {
	m, ok := s.cfg.Repos.(Mirrors)
	if !ok {
		return p, fmt.Errorf("%w: this server cannot mirror repositories", ErrInvalid)
	}
	if err := githost.ValidateRemoteURL(p.RepositoryURL); err != nil {
		return p, fmt.Errorf("%w: repository url: %w", ErrInvalid, err)
	}
	if p.DefaultBranch != "" {
		if err := validBranch(p.DefaultBranch); err != nil {
			return p, err
		}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return p, fmt.Errorf("webhook secret: %w", err)
	}
	p.WebhookSecret = hex.EncodeToString(secret)
	p.Repository = "ext-" + p.Name
	if _, err := s.cfg.Store.GetPipeline(ctx, p.Workspace, p.Name); err == nil {
		return p, fmt.Errorf("create pipeline %q: %w", p.Name, store.ErrConflict)
	}
	if _, err := m.Mirror(ctx, p.Workspace, p.Repository, p.RepositoryURL); err != nil {
		if errors.Is(err, githost.ErrBadURL) {
			return p, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return p, fmt.Errorf("%w: repository %s: %w", ErrInvalid, githost.RedactURL(p.RepositoryURL), err)
	}
	p.CreatedAt = time.Now().UTC()
	created, err := s.cfg.Store.CreatePipeline(ctx, p)
	if err != nil {
		if derr := m.Delete(context.WithoutCancel(ctx), p.Workspace, p.Repository); derr != nil {
			s.log.Warn("remove the mirror of a pipeline not created", "repository", p.Repository, "err", derr)
		}
		return p, err
	}
	s.log.Info("external pipeline created", "workspace", p.Workspace, "pipeline", p.Name,
		"url", githost.RedactURL(p.RepositoryURL))
	return created, nil
}

// validBranch accepts a plain branch name.
func validBranch(b string) error {
	b = strings.TrimPrefix(b, "refs/heads/")
	bad := b == "" || len(b) > 200 || b[0] == '-' || b[0] == '/' || strings.Contains(b, "..") ||
		strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".lock")
	for i := 0; i < len(b) && !bad; i++ {
		c := b[i]
		bad = c <= ' ' || c == 0x7f || strings.IndexByte(`~^:?*[\`, c) >= 0
	}
	if bad {
		return fmt.Errorf("%w: branch %q: expected a plain branch name", ErrInvalid, b)
	}
	return nil
}

// FetchPipeline brings external pipeline ws/name's mirror up to date and
// starts the runs its changed branches trigger, as a push would; it
// returns the refs that changed (none: nothing starts).
func (s *Service) FetchPipeline(ctx context.Context, ws, name string) ([]githost.PushEvent, error) {
	p, err := s.cfg.Store.GetPipeline(ctx, ws, name)
	if err != nil {
		return nil, err
	}
	return s.fetch(ctx, p)
}

func (s *Service) fetch(ctx context.Context, p Pipeline) ([]githost.PushEvent, error) {
	m, ok := s.cfg.Repos.(Mirrors)
	if !ok || p.RepositoryURL == "" {
		return nil, fmt.Errorf("%w: pipeline %q has no external repository", ErrInvalid, p.Name)
	}
	events, err := m.Fetch(ctx, p.Workspace, p.Repository)
	if err != nil {
		return nil, fmt.Errorf("fetch pipeline %q: %w", p.Name, err)
	}
	for _, ev := range events {
		s.OnPush(ctx, ev.Workspace, ev.Repo, ev.Ref, ev.Old, ev.New)
	}
	return events, nil
}

// poll fetches every external pipeline's repository every interval until
// the service closes.
func (s *Service) poll(interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ps, err := s.cfg.Store.ListExternalPipelines(s.ctx)
		if err != nil {
			s.log.Warn("poll external repositories", "err", err)
			continue
		}
		for _, p := range ps {
			if s.ctx.Err() != nil {
				return
			}
			if _, err := s.fetch(s.ctx, p); err != nil {
				s.log.Warn("poll external repository", "workspace", p.Workspace, "pipeline", p.Name, "err", err)
			}
		}
	}
}

// startPolling starts poll unless the repositories cannot be mirrored.
func (s *Service) startPolling() {
	if _, ok := s.cfg.Repos.(Mirrors); !ok {
		return
	}
	interval := s.cfg.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	s.wg.Add(1)
	go s.poll(interval)
}

// WebhookAuthorized reports whether a webhook request carries p's secret:
// GitHub's X-Hub-Signature-256 ("sha256=" and the hex HMAC-SHA256 of body
// keyed with the secret) or X-Ciel-Webhook-Secret (the secret itself).
// Both compare in constant time; a pipeline without a secret accepts
// nothing.
func WebhookAuthorized(p Pipeline, body []byte, hubSignature, cielSecret string) bool {
	if p.WebhookSecret == "" {
		return false
	}
	if sig, ok := strings.CutPrefix(hubSignature, "sha256="); ok {
		got, err := hex.DecodeString(sig)
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, []byte(p.WebhookSecret))
		mac.Write(body)
		return hmac.Equal(got, mac.Sum(nil))
	}
	if cielSecret != "" {
		return subtle.ConstantTimeCompare([]byte(cielSecret), []byte(p.WebhookSecret)) == 1
	}
	return false
}
