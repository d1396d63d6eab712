package bash

import "encoding/json"

func specJSON(s spec) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}
