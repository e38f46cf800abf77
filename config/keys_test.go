package config

import (
	"reflect"
)

type keyInfo struct {
	key   string
	doc   string
	index []int
}

func (k keyInfo) value(c Config) reflect.Value { return reflect.ValueOf(c).FieldByIndex(k.index) }

// allKeys lists every leaf key of Config with its documentation.
func allKeys() []keyInfo {
	var out []keyInfo
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int{}, index...), i)
			key := prefix + f.Tag.Get("toml")
			if f.Type.Kind() == reflect.Struct && !isText(f.Type) {
				walk(f.Type, key+".", idx)
				continue
			}
			out = append(out, keyInfo{key: key, doc: f.Tag.Get("doc"), index: idx})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}
