package javascript

// MaxNesting is the deepest bracket nesting a cell may have. Real code stays far below it;
// the parsers' recursion would exhaust the stack well above it.
const MaxNesting = 1000

// nesting returns the deepest nesting of (), [] and {} in code outside string literals and
// comments. Template literals count as code (their ${} parts are). It is a cheap upper bound,
// not a parser: a regular expression literal full of brackets counts too.
func nesting(code string) int {
	depth, deepest := 0, 0
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth = max(depth-1, 0)
		case '\'', '"':
			for i++; i < len(code) && code[i] != c && code[i] != '\n'; i++ {
				if code[i] == '\\' {
					i++
				}
			}
		case '/':
			if i+1 < len(code) && code[i+1] == '/' {
				for i < len(code) && code[i] != '\n' {
					i++
				}
			} else if i+1 < len(code) && code[i+1] == '*' {
				i += 2
				for i+1 < len(code) && !(code[i] == '*' && code[i+1] == '/') {
					i++
				}
				i++
			}
		}
	}
	return deepest
}
