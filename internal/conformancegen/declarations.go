package main

import (
	"fmt"
	"strings"
)

// Refusal classes of declaration cases: what a reader must refuse a
// declaration for. They name the rule broken, not a message.
const (
	RefuseText      = "text"      // not UTF-8, or a character outside YAML's printable set (§4): with line and column
	RefuseYAML      = "yaml"      // not one YAML 1.2 document of the accepted subset (§4.1)
	RefuseDepth     = "depth"     // nested deeper than 64 levels (§4.1)
	RefuseNumber    = "number"    // a number out of the double range, or underflowing to 0 (§4.4)
	RefuseName      = "name"      // a logical name breaks §4.2
	RefuseStruct    = "structure" // a field, role or value breaks §4.1 or §4.3
	RefuseComponent = "component" // a component's bytes break the content rules of their format (§4.3)
)

// dcase is one declaration case: the declaration, its files, and either
// an accepted identity or a refusal.
type dcase struct {
	name, description string
	decl              string
	files             map[string]string
	refuse            string // empty: accepted
	line, col         int    // where a text refusal must point
}

// decl is a declaration whose input role is the given component lines
// (indented by six spaces after "- ") and whose other roles are none.
func decl(component string) string {
	return "runid: \"1\"\nroles:\n  model: none\n  parameters: none\n  system-prompt: none\n  tools: none\n  context: none\n" +
		"  input:\n    - " + component + "\n  config: none\n  runtime: none\n"
}

// nestedDecl is a declaration whose parameters nest mappings so that the
// whole is depth levels deep, indented by indent spaces a level.
func nestedDecl(depth, indent int) string {
	var b strings.Builder
	b.WriteString("runid: \"1\"\nroles:\n  model: none\n  system-prompt: none\n  tools: none\n  context: none\n  input: none\n  config: none\n  runtime: none\n  parameters:\n")
	for i := 0; i < depth-2; i++ {
		b.WriteString(strings.Repeat(" ", 2+indent*(i+1)) + "k:")
		if i == depth-3 {
			b.WriteString(" 1")
		}
		b.WriteString("\n")
	}
	return b.String()
}

var declarationCases = []dcase{
	{name: "bom", description: "a byte order mark before the declaration (YAML 1.2 allows it); same identity as without",
		decl: "\uFEFF" + decl("name: input/q.txt\n      text: hello")},
	{name: "yaml-directive", description: "a %YAML 1.2 directive and a document start marker",
		decl: "%YAML 1.2\n---\n" + decl("name: input/q.txt\n      text: hello")},
	{name: "tab-in-block-scalar", description: "tabs in a comment and in a block scalar are text",
		decl: "#\tcomment\n" + decl("name: input/q.txt\n      text: |\n        a\tb\n        \tc")},
	{name: "escaped-replacement-character", description: "U+FFFD written as an escape is text like any other",
		decl: decl(`name: input/q.txt` + "\n      text: \"y\\uFFFD\\uFFFD\"")},
	{name: "format-inference", description: "an unknown extension infers binary where the role allows it (context/page.html) and the role's first format elsewhere (system-prompt/prompt.html: text)",
		decl: strings.Replace(strings.Replace(decl("name: input/q.txt\n      text: x"), "  context: none\n", "  context:\n    - name: context/page.html\n      file: page.html\n", 1),
			"  system-prompt: none\n", "  system-prompt:\n    - name: system-prompt/prompt.html\n      file: prompt.html\n", 1),
		files: map[string]string{"page.html": "<p>Opening hours</p>\n", "prompt.html": "<p>Be brief.</p>\n"}},
	{name: "depth-64-indent-4", description: "64 levels with 4-space indentation", decl: nestedDecl(64, 4)},
	{name: "depth-64-indent-1", description: "64 levels with 1-space indentation", decl: nestedDecl(64, 1)},
	{name: "depth-64-block-and-flow", description: "62 levels of block mappings and 2 of flow brackets in them: 64", decl: strings.Replace(nestedDecl(62, 2), "k: 1\n", "k: [[1]]\n", 1)},
	{name: "depth-64-dashes", description: "64 levels of block sequences and mappings, 61 dashes on one line", decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters:\n    a:\n      "+strings.Repeat("- ", 61)+"1\n", 1)},
	{name: "depth-brackets-in-text", description: "brackets in quoted scalars, a plain scalar, a comment and a block scalar are text: 3 levels deep, 70 brackets each",
		decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters:\n    # "+strings.Repeat("[", 70)+"\n    a: \""+strings.Repeat("[", 70)+"\"\n    b: '"+strings.Repeat("{", 70)+"'\n    c: x:"+strings.Repeat("[", 70)+"\n    d: |\n      "+strings.Repeat("[", 70)+"\n      "+strings.Repeat("- ", 70)+"\n", 1)},
	{name: "yaml-component-tabs", description: "a yaml component takes tabs in comments and in block scalars",
		decl:  strings.Replace(decl("name: input/q.txt\n      text: x"), "  config: none\n", "  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n", 1),
		files: map[string]string{"agent.yaml": "#\tcomment\na: \"x\\ty\" #\tcomment\ng: |\n  h\ti\n  \tj\n"}},
	{name: "yaml-component-documents", description: "a yaml component of two documents, with an anchor and an alias: well-formed YAML 1.2",
		decl:  strings.Replace(decl("name: input/q.txt\n      text: x"), "  config: none\n", "  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n", 1),
		files: map[string]string{"agent.yaml": "base: &b {model: m}\nuse: *b\n---\n- one\n- two\n"}},
	{name: "subnormal", description: "the smallest subnormal double is a number",
		decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters:\n    a: 5e-324\n", 1)},
	{name: "names-near-devices", description: "names that look like Windows device names but are not",
		decl: decl("name: input/COM10.txt\n      text: a\n    - name: input/LPT⁴.txt\n      text: b\n    - name: input/CONSOLE.txt\n      text: c")},

	{name: "utf8-name-ff-fe", description: `name: "y\xff\xfe" (the bytes FF FE are not UTF-8)`, refuse: RefuseText, line: 9, col: 15,
		decl: decl("name: \"y\xff\xfe\"\n      text: x")},
	{name: "utf8-name-fe-ff", description: `name: "y\xfe\xff"`, refuse: RefuseText, line: 9, col: 15,
		decl: decl("name: \"y\xfe\xff\"\n      text: x")},
	{name: "utf8-text", description: "inline text with the bytes FF FE", refuse: RefuseText, line: 10, col: 15,
		decl: decl("name: input/q.txt\n      text: \"y\xff\xfe\"")},
	{name: "utf8-comment", description: "an encoded surrogate (ED A0 80) in a comment", refuse: RefuseText, line: 1, col: 3,
		decl: "# \xed\xa0\x80\n" + decl("name: input/q.txt\n      text: x")},
	{name: "control-character", description: "a raw BEL character in a quoted scalar", refuse: RefuseText, line: 10, col: 15,
		decl: decl("name: input/q.txt\n      text: \"y\a\"")},
	{name: "tab-in-quoted-scalar", description: "a tab in a double-quoted scalar: write \\t", refuse: RefuseYAML, line: 10, col: 15,
		decl: decl("name: input/q.txt\n      text: \"a\tb\"")},
	{name: "tab-in-plain-scalar", description: "a tab in a plain scalar", refuse: RefuseYAML, line: 10, col: 14,
		decl: decl("name: input/q.txt\n      text: a\tb")},
	{name: "tab-after-colon", description: "a tab as the separation after a key's colon (YAML allows it; a declaration does not)", refuse: RefuseYAML, line: 10, col: 12,
		decl: decl("name: input/q.txt\n      text:\tx")},
	{name: "depth-65-block-and-flow", description: "62 levels of block mappings and 3 of flow brackets in them: 65", refuse: RefuseDepth,
		decl: strings.Replace(nestedDecl(62, 2), "k: 1\n", "k: [[[1]]]\n", 1)},
	{name: "depth-65-dashes", description: "65 levels of block sequences, their dashes on one line", refuse: RefuseDepth,
		decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters:\n    a:\n      "+strings.Repeat("- ", 62)+"1\n", 1)},
	{name: "yaml-1.1-directive", description: "a %YAML 1.1 directive", refuse: RefuseYAML,
		decl: "%YAML 1.1\n---\n" + decl("name: input/q.txt\n      text: x")},
	{name: "two-documents", description: "two YAML documents", refuse: RefuseYAML,
		decl: decl("name: input/q.txt\n      text: x") + "---\n" + decl("name: input/q.txt\n      text: x")},
	{name: "anchor", description: "an anchor and an alias", refuse: RefuseYAML,
		decl: decl("name: &n input/q.txt\n      text: *n")},
	{name: "duplicate-key", description: "a key twice in a mapping", refuse: RefuseYAML,
		decl: decl("name: input/q.txt\n      text: x\n      text: y")},
	{name: "depth-65-indent-4", description: "65 levels with 4-space indentation", refuse: RefuseDepth, decl: nestedDecl(65, 4)},
	{name: "depth-65-indent-1", description: "65 levels with 1-space indentation", refuse: RefuseDepth, decl: nestedDecl(65, 1)},
	{name: "depth-65-flow", description: "65 levels of flow sequences", refuse: RefuseDepth,
		decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters: {a: "+strings.Repeat("[", 62)+strings.Repeat("]", 62)+"}\n", 1)},
	{name: "number-overflow", description: "1e400", refuse: RefuseNumber,
		decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters:\n    a: 1e400\n", 1)},
	{name: "number-underflow", description: "1e-400 would become 0", refuse: RefuseNumber,
		decl: strings.Replace(nestedDecl(2, 2), "  parameters:\n", "  parameters:\n    a: 1e-400\n", 1)},
	{name: "number-underflow-json-file", description: "a JSON component file with 1e-400", refuse: RefuseComponent,
		decl: decl("name: input/q.json\n      file: q.json"), files: map[string]string{"q.json": `{"a":1e-400}`}},
	{name: "name-replacement-character", description: "U+FFFD in a logical name", refuse: RefuseName,
		decl: decl("name: \"input/y\\uFFFD.txt\"\n      text: x")},
	{name: "name-cf-unicode-15", description: "U+13439, a format character (Cf) since Unicode 15.0.0", refuse: RefuseName,
		decl: decl("name: \"input/a\\U00013439b.txt\"\n      text: x")},
	{name: "name-device-superscript", description: "COM¹ is a Windows device name", refuse: RefuseName,
		decl: decl("name: input/COM¹.txt\n      text: x")},
	{name: "name-device-space", description: "CON .txt is a Windows device name", refuse: RefuseName,
		decl: decl("name: \"input/CON .txt\"\n      text: x")},
	{name: "name-device-zero", description: "LPT0 is a Windows device name", refuse: RefuseName,
		decl: decl("name: input/lpt0.log\n      text: x")},
	{name: "yaml-component-utf8", description: "a yaml component file that is not UTF-8", refuse: RefuseComponent,
		decl:  strings.Replace(decl("name: input/q.txt\n      text: x"), "  config: none\n", "  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n", 1),
		files: map[string]string{"agent.yaml": "name: \"ag\xffent\"\n"}},
	{name: "yaml-component-duplicate-key", description: "a yaml component whose second document has a key twice", refuse: RefuseComponent,
		decl:  strings.Replace(decl("name: input/q.txt\n      text: x"), "  config: none\n", "  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n", 1),
		files: map[string]string{"agent.yaml": "a: 1\n---\na: 1\na: 2\n"}},
	{name: "yaml-component-tab-in-quoted-scalar", description: "a yaml component with a tab in a double-quoted scalar (YAML allows it; packers' libraries disagree): write \\t", refuse: RefuseComponent,
		decl:  strings.Replace(decl("name: input/q.txt\n      text: x"), "  config: none\n", "  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n", 1),
		files: map[string]string{"agent.yaml": "a: \"x\ty\"\nb: c\n"}},
	{name: "yaml-component-tab-after-colon", description: "a yaml component separating a key from its value with a tab", refuse: RefuseComponent,
		decl:  strings.Replace(decl("name: input/q.txt\n      text: x"), "  config: none\n", "  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n", 1),
		files: map[string]string{"agent.yaml": "a: 1\nb:\tc\n"}},
	{name: "missing-role", description: "the tools role is not declared", refuse: RefuseStruct,
		decl: strings.Replace(decl("name: input/q.txt\n      text: x"), "  tools: none\n", "", 1)},
	{name: "runid-number", description: "runid: 1 (a number, not the string \"1\")", refuse: RefuseStruct,
		decl: strings.Replace(decl("name: input/q.txt\n      text: x"), `runid: "1"`, "runid: 1", 1)},
}

func (d dcase) String() string { return fmt.Sprintf("%s (%s)", d.name, d.description) }
