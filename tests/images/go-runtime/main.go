// A Go custom runtime for provided.al2023-style FROM-scratch test images. It
// speaks the Runtime API with the standard library only (no module download
// is possible here) and behaves as aws-lambda-go does where the tests look:
// a panic is reported to /runtime/invocation/<id>/error with Go's stack frames
// ({"path", "line", "label"}) and then re-raised, so the process exits.
//
// Steered by the event's "action" and by INIT_SLEEP_S (seconds to sleep in init):
//   panic   panic("kaboom")
//   error   return an error
//   sleep   sleep event "seconds"
//   otherwise: answer {"go": true, "event": <event>, "request_id": <id>, "deadline_ms": <its
//   Lambda-Runtime-Deadline-Ms>, "timeout_env": $AWS_LAMBDA_FUNCTION_TIMEOUT, "now_ms": <now>}
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"time"
)

type frame struct {
	Path  string `json:"path"`
	Line  int    `json:"line"`
	Label string `json:"label"`
}

type errorDoc struct {
	Message    string  `json:"errorMessage"`
	Type       string  `json:"errorType"`
	StackTrace []frame `json:"stackTrace,omitempty"`
}

var api = "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/"

func post(path string, doc interface{}) {
	body, _ := json.Marshal(doc)
	resp, err := http.Post(api+path, "application/json", bytes.NewReader(body))
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func stack() []frame {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(4, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []frame
	for {
		f, more := frames.Next()
		out = append(out, frame{Path: filepath.Base(f.File), Line: f.Line, Label: f.Function})
		if !more {
			break
		}
	}
	return out
}

func handle(event map[string]interface{}, requestID string, deadline string) (interface{}, error) {
	switch event["action"] {
	case "panic":
		panic("kaboom")
	case "error":
		return nil, errors.New("handler said no")
	case "sleep":
		seconds, _ := event["seconds"].(float64)
		time.Sleep(time.Duration(seconds * float64(time.Second)))
	}
	return map[string]interface{}{
		"go": true, "event": event, "request_id": requestID, "deadline_ms": deadline,
		"timeout_env": os.Getenv("AWS_LAMBDA_FUNCTION_TIMEOUT"), "now_ms": time.Now().UnixMilli(),
	}, nil
}

func invoke(requestID string, deadline string, payload []byte) {
	defer func() {
		if r := recover(); r != nil {
			post("invocation/"+requestID+"/error", errorDoc{fmt.Sprint(r), reflect.TypeOf(r).String(), stack()})
			panic(r) // as aws-lambda-go: the process ends after reporting
		}
	}()
	var event map[string]interface{}
	if err := json.Unmarshal(payload, &event); err != nil {
		post("invocation/"+requestID+"/error", errorDoc{err.Error(), "Runtime.UnmarshalError", nil})
		return
	}
	result, err := handle(event, requestID, deadline)
	if err != nil {
		post("invocation/"+requestID+"/error", errorDoc{err.Error(), reflect.TypeOf(err).String(), nil})
		return
	}
	post("invocation/"+requestID+"/response", result)
}

func main() {
	if s, err := strconv.ParseFloat(os.Getenv("INIT_SLEEP_S"), 64); err == nil {
		time.Sleep(time.Duration(s * float64(time.Second)))
	}
	for {
		resp, err := http.Get(api + "invocation/next")
		if err != nil {
			os.Exit(1)
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		invoke(resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), resp.Header.Get("Lambda-Runtime-Deadline-Ms"), payload)
	}
}
