import Testing

@testable import SmrtDashboard

@Suite struct HTMLTests {
    @Test func interpolatedStringsAreEscaped() {
        let hostile = "<script>alert(1)</script>\"'&"
        let html: HTML = "<td title=\"\(hostile)\">\(hostile)</td>"
        #expect(html.text == "<td title=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</td>")
    }

    @Test func htmlIsNotEscapedTwice() {
        let cell: HTML = "<b>\("a<b")</b>"
        let row: HTML = "<tr>\(cell)\([cell, cell])</tr>"
        #expect(row.text == "<tr><b>a&lt;b</b><b>a&lt;b</b><b>a&lt;b</b></tr>")
    }

    @Test func optionalsAndNumbers() {
        let missing: String? = nil
        let html: HTML = "\(missing) \(42) \(Int64(-7)) \(0.5)"
        #expect(html.text == "- 42 -7 0.5")
    }
}

