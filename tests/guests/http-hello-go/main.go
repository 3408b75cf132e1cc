// A wasi:http/incoming-handler in Go:
//
//	GET  /hello?name=NAME  -> 200 "Hello, NAME!" (text/plain)
//	POST /echo             -> 200 the request body, with the request's content-type
//	GET  /panic            -> a Go panic: the guest traps
//	anything else          -> 404 "no route for METHOD PATH"
package main

import (
	"net/url"
	"strings"
)

func main() {}

func IncomingHandlerHandle(request IncomingRequest, out ResponseOutparam) {
	target := "/"
	if p := request.PathWithQuery(); p.IsSome {
		target = p.Value
	}
	u, err := url.Parse(target)
	if err != nil {
		respond(out, 400, "text/plain", []byte("bad request target\n"))
		return
	}
	method := methodName(request.Method())
	switch {
	case method == "GET" && u.Path == "/hello":
		name := u.Query().Get("name")
		if name == "" {
			name = "world"
		}
		respond(out, 200, "text/plain; charset=utf-8", []byte("Hello, "+name+"!\n"))
	case method == "POST" && u.Path == "/echo":
		contentType := "application/octet-stream"
		headers := request.Headers()
		if values := headers.Get("content-type"); len(values) > 0 {
			contentType = string(values[0])
		}
		headers.Drop()
		respond(out, 200, contentType, readBody(request))
	case u.Path == "/panic":
		panic("asked to panic")
	default:
		respond(out, 404, "text/plain", []byte("no route for "+method+" "+u.Path+"\n"))
	}
}

func methodName(m Method) string {
	names := map[uint32]string{
		MethodGet: "GET", MethodHead: "HEAD", MethodPost: "POST", MethodPut: "PUT",
		MethodDelete: "DELETE", MethodConnect: "CONNECT", MethodOptions: "OPTIONS",
		MethodTrace: "TRACE", MethodPatch: "PATCH",
	}
	if m.Tag == MethodOther {
		return strings.ToUpper(m.Other)
	}
	return names[m.Tag]
}

func readBody(request IncomingRequest) []byte {
	consumed := request.Consume()
	if consumed.IsErr {
		return nil
	}
	body := consumed.Ok
	stream := body.Stream().Ok
	var data []byte
	for {
		chunk := stream.BlockingRead(64 << 10)
		if chunk.IsErr {
			break // closed, or failed: either way the body is over
		}
		data = append(data, chunk.Ok...)
	}
	stream.Drop()
	IncomingBodyFinish(body).Drop()
	return data
}

func respond(out ResponseOutparam, status uint16, contentType string, body []byte) {
	headers := FieldsFromList([]struct {
		F0 string
		F1 []byte
	}{{"content-type", []byte(contentType)}}).Ok
	response := NewOutgoingResponse(headers)
	response.SetStatusCode(status)
	outgoing := response.Body().Ok
	ResponseOutparamSet(out, Ok[OutgoingResponse, ErrorCode](response))
	stream := outgoing.Write().Ok
	for len(body) > 0 {
		n := min(len(body), 4096)
		stream.BlockingWriteAndFlush(body[:n])
		body = body[n:]
	}
	stream.Drop()
	OutgoingBodyFinish(outgoing, None[Fields]())
}
