package api

import (
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/store"
)

// schemaTypes are the request and response bodies the OpenAPI document
// describes; a name ending in "List" is an array of the name before it.
var schemaTypes = map[string]any{
	"Agent":             Agent{},
	"AgentInput":        AgentInput{},
	"StatusInput":       StatusInput{},
	"WrapUp":            WrapUp{},
	"Event":             acd.Event{},
	"ConversationInput": ConversationInput{},
	"Conversation":      store.Conversation{},
	"Queue":             Queue{},
	"QueueInput":        QueueInput{},
	"WaitingStrategy":   WaitingStrategy{},
	"DTMFInput":         DTMFInput{},
	"Error":             apiError{},
}

// openapi serves the OpenAPI 3.1 document of /api/v1, made from the same
// route table the server registers.
func (v *v1) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, v.document())
}

func (v *v1) document() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range v.routes {
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"security":    []map[string][]string{{"bearer": {}}},
			"x-allowed":   rt.who,
		}
		var params []map[string]any
		for _, seg := range strings.Split(rt.path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true,
					"schema": map[string]string{"type": "string"}})
			}
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": ref(rt.body)}}}
		}
		ok := map[string]any{"description": "done"}
		code := "204"
		switch {
		case rt.reply != "" && rt.method == "POST" && rt.body != "" && !strings.Contains(rt.path, "/calls/"):
			code = "201"
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.reply)}}
		case rt.reply != "":
			code = "200"
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.reply)}}
		}
		errResp := map[string]any{"description": "error", "content": map[string]any{
			"application/json": map[string]any{"schema": ref("Error")}}}
		op["responses"] = map[string]any{code: ok, "400": errResp, "401": errResp, "403": errResp, "404": errResp, "409": errResp}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	schemas := map[string]any{}
	for name, t := range schemaTypes {
		schemas[name] = schemaOf(reflect.TypeOf(t))
		schemas[name+"List"] = map[string]any{"type": "array", "items": ref(name)}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Switchboard contact center API", "version": "1",
			"description": "Supervisors authenticate with an API key, agents with their token: Authorization: Bearer <token>. Durations are in seconds."},
		"paths": paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]string{"type": "http", "scheme": "bearer"}},
		},
	}
}

func ref(name string) map[string]string {
	return map[string]string{"$ref": "#/components/schemas/" + name}
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, seg := range strings.Split(strings.TrimPrefix(rt.path, "/api/v1/"), "/") {
		if seg == "" || strings.HasPrefix(seg, "{") {
			continue
		}
		for _, part := range strings.Split(seg, "-") {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

var timeType = reflect.TypeFor[time.Time]()

// schemaOf is the JSON schema of a Go type as encoding/json writes it.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{} // raw JSON
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case t.Kind() == reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			addFields(f.Type, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
	}
}
