package javascript

import (
	"sort"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
)

// needsAsync reports whether code only parses inside an async function: it uses top-level
// await (or for await).
func needsAsync(name, code string) bool {
	if _, err := goja.Parse(name, code); err == nil {
		return false
	}
	_, err := goja.Parse(name, asyncOpen+code+asyncClose)
	return err == nil
}

const (
	asyncOpen  = "(async () => {\n"
	asyncClose = "\n})()"
)

// rewriteTopLevelAwait turns a cell that uses top-level await into a script that declares the
// cell's top-level names globally (so later cells see them, as in node's REPL) and runs the
// rest inside an async function whose promise resolves to the value of the last expression.
func rewriteTopLevelAwait(name, code string) (string, error) {
	src := asyncOpen + code + asyncClose
	prg, err := goja.Parse(name, src)
	if err != nil {
		return "", err
	}
	body := asyncBody(prg)
	if body == nil {
		return src, nil
	}
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	var hoisted []string // function declarations, moved to the script's top level
	declared := map[string]bool{}
	var names []string
	declare := func(n string) {
		if !declared[n] {
			declared[n] = true
			names = append(names, n)
		}
	}
	for i, st := range body.List {
		start, end := int(st.Idx0())-1, int(st.Idx1())-1
		switch s := st.(type) {
		case *ast.VariableStatement:
			edits = append(edits, edit{start, end, assignments(src, s.List, declare)})
		case *ast.LexicalDeclaration:
			edits = append(edits, edit{start, end, assignments(src, s.List, declare)})
		case *ast.FunctionDeclaration:
			hoisted = append(hoisted, src[start:end])
			edits = append(edits, edit{start, end, ""})
		case *ast.ClassDeclaration:
			if s.Class.Name != nil {
				n := string(s.Class.Name.Name)
				declare(n)
				edits = append(edits, edit{start, end, n + " = " + src[start:end] + ";"})
			}
		case *ast.ExpressionStatement:
			if i == len(body.List)-1 {
				e0, e1 := int(s.Expression.Idx0())-1, int(s.Expression.Idx1())-1
				edits = append(edits, edit{start, end, "return (" + src[e0:e1] + ");"})
			}
		}
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].from > edits[j].from })
	for _, e := range edits {
		src = src[:e.from] + e.text + src[e.to:]
	}
	var head strings.Builder
	if len(names) > 0 {
		head.WriteString("var " + strings.Join(names, ", ") + ";\n")
	}
	for _, h := range hoisted {
		head.WriteString(h + "\n")
	}
	return head.String() + src, nil
}

// asyncBody finds the block of the async arrow function that wraps the cell.
func asyncBody(prg *ast.Program) *ast.BlockStatement {
	if len(prg.Body) != 1 {
		return nil
	}
	es, ok := prg.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return nil
	}
	call, ok := es.Expression.(*ast.CallExpression)
	if !ok {
		return nil
	}
	var fn *ast.ArrowFunctionLiteral
	switch c := call.Callee.(type) {
	case *ast.ArrowFunctionLiteral:
		fn = c
	default:
		return nil
	}
	if b, ok := fn.Body.(*ast.BlockStatement); ok {
		return b
	}
	return nil
}

// assignments rewrites `let a = 1, {b} = o` as `(a = 1, {b} = o);` and declares the names.
func assignments(src string, list []*ast.Binding, declare func(string)) string {
	var parts []string
	for _, b := range list {
		for _, n := range boundNames(b.Target) {
			declare(n)
		}
		t0, t1 := int(b.Target.Idx0())-1, int(b.Target.Idx1())-1
		if b.Initializer == nil {
			if id, ok := b.Target.(*ast.Identifier); ok {
				parts = append(parts, string(id.Name)+" = undefined")
			}
			continue
		}
		i0, i1 := int(b.Initializer.Idx0())-1, int(b.Initializer.Idx1())-1
		parts = append(parts, src[t0:t1]+" = "+src[i0:i1])
	}
	if len(parts) == 0 {
		return ";"
	}
	return "(" + strings.Join(parts, ", ") + ");"
}

// boundNames lists the identifiers a binding target declares.
func boundNames(t ast.Node) []string {
	switch p := t.(type) {
	case *ast.Identifier:
		return []string{string(p.Name)}
	case *ast.ObjectPattern:
		var out []string
		for _, prop := range p.Properties {
			switch q := prop.(type) {
			case *ast.PropertyShort:
				out = append(out, string(q.Name.Name))
			case *ast.PropertyKeyed:
				out = append(out, boundNames(q.Value)...)
			}
		}
		if p.Rest != nil {
			out = append(out, boundNames(p.Rest)...)
		}
		return out
	case *ast.ArrayPattern:
		var out []string
		for _, e := range p.Elements {
			if e != nil {
				out = append(out, boundNames(e)...)
			}
		}
		if p.Rest != nil {
			out = append(out, boundNames(p.Rest)...)
		}
		return out
	case *ast.AssignExpression:
		return boundNames(p.Left)
	}
	return nil
}
