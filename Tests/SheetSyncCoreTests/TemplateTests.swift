import Testing
@testable import SheetSyncCore

struct TemplateTests {
    @Test func parsesLiteralsAndReferences() throws {
        let template = try Template(parsing: "{{env.SHOP_URL}}/v1/orders/{{ record.id }}?s={{param.status}}")
        #expect(template.references == [
            TemplateReference(source: .env, path: ["SHOP_URL"], offset: 0),
            TemplateReference(source: .record, path: ["id"], offset: 27),
            TemplateReference(source: .param, path: ["status"], offset: 45),
        ])
        #expect(template.parts.count == 5)
        let rendered = template.render { (reference: TemplateReference) -> String in "<\(reference)>" }
        #expect(rendered == "<env.SHOP_URL>/v1/orders/<record.id>?s=<param.status>")
    }

    @Test func literalTextStaysLiteral() throws {
        let template = try Template(parsing: "no references { here } at all")
        #expect(template.isLiteral)
        #expect(template.render { (_: TemplateReference) -> String in "x" } == "no references { here } at all")
    }

    @Test func everySourceParses() throws {
        let text = "{{env.A}}{{secret.B}}{{param.c}}{{state.cursor}}{{window.start}}{{window.end}}{{page.number}}{{record.id}}{{steps.lookup.id}}"
        let sources = try Template(parsing: text).references.map(\.source)
        #expect(sources == [.env, .secret, .param, .state, .window, .window, .page, .record, .steps])
        #expect(try Template(parsing: "{{steps.lookup.customer.id}}").references[0].name == "lookup.customer.id")
    }

    @Test(arguments: [
        ("{{env.URL", "invalid template '{{env.URL': '{{' is never closed with '}}'", 0),
        ("a}}b", "invalid template 'a}}b': '}}' without a matching '{{'", 1),
        ("x{{}}", "invalid template 'x{{}}': empty reference '{{}}'; expected something like '{{env.NAME}}'", 1),
        ("{{envv.URL}}", "invalid template '{{envv.URL}}': unknown source 'envv', did you mean 'env'? (sources: env, secret, param, state, window, page, record, steps)", 2),
        ("{{ secrets.TOKEN }}", "invalid template '{{ secrets.TOKEN }}': unknown source 'secrets', did you mean 'secret'? (sources: env, secret, param, state, window, page, record, steps)", 3),
        ("{{env}}", "invalid template '{{env}}': 'env' needs a name, as in '{{env.SHOP_URL}}'", 2),
        ("{{env.}}", "invalid template '{{env.}}': empty name in 'env.'", 6),
        ("{{env.MY-URL}}", "invalid template '{{env.MY-URL}}': 'env.MY-URL' is not a valid variable name; expected letters, digits and '_', as in '{{env.SHOP_TOKEN}}'", 6),
        ("{{param.a b}}", "invalid template '{{param.a b}}': unexpected ' ' in name 'a b'", 9),
        ("{{window.middle}}", "invalid template '{{window.middle}}': unknown window value 'middle'; expected 'window.start' or 'window.end'", 9),
        ("{{steps.only}}", "invalid template '{{steps.only}}': 'steps' needs a step name and a value, as in '{{steps.lookup.id}}'", 2),
        ("{{env.A | upper}}", "invalid template '{{env.A | upper}}': filters ('|') are not supported in references", 8),
        ("{{ {{env.A}}", "invalid template '{{ {{env.A}}': '{{' is never closed with '}}'", 0),
    ])
    func rejects(text: String, message: String, offset: Int) {
        #expect(throws: CoreError(.invalidTemplate, message, offset: offset)) {
            try Template(parsing: text)
        }
    }
}
