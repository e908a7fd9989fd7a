package tracking

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/store"
)

// MLflow error codes ciel answers with.
const (
	CodeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	CodeResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	CodeResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	CodeBadRequest            = "BAD_REQUEST"
	CodeEndpointNotFound      = "ENDPOINT_NOT_FOUND"
	CodeInternalError         = "INTERNAL_ERROR"
	CodeUnauthenticated       = "UNAUTHENTICATED"
	CodeNotImplemented        = "NOT_IMPLEMENTED"
	// CodeResourceExhausted answers a body over a size limit or quota (413).
	CodeResourceExhausted = "RESOURCE_EXHAUSTED"
	// CodeDeadlineExceeded answers a body that arrives too slowly (408).
	CodeDeadlineExceeded = "DEADLINE_EXCEEDED"
)

// Error is an error with an MLflow error code; its HTTP status is the one
// MLflow uses for the code.
type Error struct {
	Code    string
	Message string
}

// Error returns the message, as MLflow shows it.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// invalidf is Errorf(CodeInvalidParameterValue, ...).
func invalidf(format string, args ...any) *Error {
	return Errorf(CodeInvalidParameterValue, format, args...)
}

// HTTPStatus is the status MLflow answers a code with.
func HTTPStatus(code string) int {
	switch code {
	case CodeInvalidParameterValue, CodeResourceAlreadyExists, CodeBadRequest:
		return http.StatusBadRequest
	case CodeResourceDoesNotExist, CodeEndpointNotFound:
		return http.StatusNotFound
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeNotImplemented:
		return http.StatusNotImplemented
	case CodeResourceExhausted:
		return http.StatusRequestEntityTooLarge
	case CodeDeadlineExceeded:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

// asError turns any error into an *Error: an *Error in the chain as it is,
// store.ErrNotFound as RESOURCE_DOES_NOT_EXIST (with notFound's message
// when given), store.ErrConflict as RESOURCE_ALREADY_EXISTS, a bad
// artifact path as INVALID_PARAMETER_VALUE, anything else INTERNAL_ERROR.
func asError(err error, notFound string) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		if notFound == "" {
			notFound = err.Error()
		}
		return &Error{Code: CodeResourceDoesNotExist, Message: notFound}
	case errors.Is(err, store.ErrConflict):
		return &Error{Code: CodeResourceAlreadyExists, Message: err.Error()}
	case errors.Is(err, artifacts.ErrBadPath):
		return &Error{Code: CodeInvalidParameterValue, Message: err.Error()}
	}
	// The details (paths under CIEL_HOME, driver errors) go to the server
	// log (writeError logs every 5xx); the client is told only that.
	return &Error{Code: CodeInternalError, Message: "internal error; the server log has the details"}
}
