package api_test

// withFields sets the key/value pairs of kv on body and returns it; a nil
// value removes its key, for a body that lacks the field altogether.
func withFields(body map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(body, kv[i].(string))
			continue
		}
		body[kv[i].(string)] = kv[i+1]
	}
	return body
}
