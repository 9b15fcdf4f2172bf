import Foundation
import Testing
@testable import SmrtJobs

@Suite("Stored JSON parser")
struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { JSONParser.parse($0) }
    }

    @Test(arguments: [
        "{}", "[]", "null", "true", "false", "0", "-12", "9223372036854775807", "1.5", "-0.25", "\"\"",
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, #"  { "spaced" : [ 1 , 2 ] }  "#,
        #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9\u4e2d\ud83d\ude00""#, "\"raw é 中 😀\"",
        #"[[[[["deep"]]]]]"#, #"{"dup":1,"dup":2}"#,
    ])
    func agreesWithJSONValueParse(_ text: String) throws {
        let expected = try JSONValue.parse(text)
        #expect(parse(text) == expected)
    }

    @Test func roundTripsWhatJSONValueWrites() {
        let value: JSONValue = [
            "text": "quote \" backslash \\ control \u{01} newline \n 😀", "n": -42, "x": 0.125,
            "list": [1, "two", nil, [3.5]], "nested": ["a": ["b": true]],
        ]
        #expect(parse(value.jsonText) == value)
    }

    @Test func numbersKeepTheirKind() {
        #expect(parse("7") == .int(7))
        #expect(parse("7.25") == .double(7.25))
        #expect(parse("1e3") == .double(1000))
        #expect(parse("99999999999999999999") == .double(1e20))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "01", "tru", "nul", "\"\\x\"", "1 2", "\"\u{01}\"", #""\ud800""#, #""\udc00x""#,
        "{'a':1}", "[1 2]", "-", "1.", ".5", "{\"a\" 1}", "\"unterminated",
    ])
    func rejectsInvalidText(_ text: String) {
        let parsed: JSONValue?? = .some(parse(text))
        #expect(parsed == .some(.none), "parsed \(String(describing: parsed))")
    }
}
