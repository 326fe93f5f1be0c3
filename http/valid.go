package http

// validJSON reports whether data is one valid JSON value with only
// whitespace around it, exactly as json.Valid does (FuzzValidJSON holds it
// to that), in one plain pass over the bytes: json.Valid steps a state
// machine through a function call per byte, and was 2.9 % of hookd's CPU
// while the bench published batches (see BENCHMARKS.md). Like json.Valid,
// it accepts bytes that are not UTF-8 inside strings, and refuses nesting
// deeper than 10,000.
func validJSON(data []byte) bool {
	var stackBuf [32]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	i := skipSpace(data, 0)
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return false
		}
		ok := true
		switch c := data[i]; c {
		case '{', '[':
			if len(stack) == maxNesting {
				return false
			}
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == closer(c) {
				i++
				break // an empty container: a complete value
			}
			stack = append(stack, c)
			if c == '{' {
				if i, ok = key(data, i); !ok {
					return false
				}
			}
			continue // its first value
		case '"':
			i, ok = scanString(data, i)
		case 't':
			i, ok = literal(data, i, "true")
		case 'f':
			i, ok = literal(data, i, "false")
		case 'n':
			i, ok = literal(data, i, "null")
		default:
			i, ok = scanNumber(data, i)
		}
		if !ok {
			return false
		}
		// A value ended just before data[i]: close containers, or go on
		// to the next value after a comma.
		for {
			i = skipSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			if data[i] == closer(top) {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if data[i] != ',' {
				return false
			}
			i = skipSpace(data, i+1)
			if top == '{' {
				if i, ok = key(data, i); !ok {
					return false
				}
			}
			break
		}
	}
}

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

func closer(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// key reads an object's member name and its colon at data[i], and returns
// the index of the member's value, whitespace skipped.
func key(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return i, false
	}
	i, ok := scanString(data, i)
	if !ok {
		return i, false
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return i, false
	}
	return skipSpace(data, i+1), true
}

// plainByte marks the bytes a JSON string holds as they are: all but the
// control characters, the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString checks the JSON string starting with the quote at data[i] and
// returns the index just past it.
func scanString(data []byte, i int) (int, bool) {
	for i++; i < len(data); i++ {
		c := data[i]
		if plainByte[c] {
			continue
		}
		switch c {
		case '"':
			return i + 1, true
		case '\\':
			i++
			if i >= len(data) {
				return i, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return i, false
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		default: // a control character
			return i, false
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber checks the JSON number at data[i] and returns the index just
// past it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) (int, bool) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return i, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// literal checks for word (true, false or null) at data[i].
func literal(data []byte, i int, word string) (int, bool) {
	if len(data)-i < len(word) || string(data[i:i+len(word)]) != word {
		return i, false
	}
	return i + len(word), true
}
