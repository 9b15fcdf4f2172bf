import Testing
@testable import SmrtSupervisor

@Suite struct ShellWordsTests {
    @Test func splitsOnWhitespace() throws {
        #expect(try ShellWords.split("smrt-demo-worker --fd 3") == ["smrt-demo-worker", "--fd", "3"])
        #expect(try ShellWords.split("  a \t b\n c  ") == ["a", "b", "c"])
        #expect(try ShellWords.split("") == [])
        #expect(try ShellWords.split("   ") == [])
    }

    @Test func singleQuotesKeepEverythingLiteral() throws {
        #expect(try ShellWords.split("sh -c 'echo hi'") == ["sh", "-c", "echo hi"])
        #expect(try ShellWords.split(#"sh -c 'echo "a b"'"#) == ["sh", "-c", #"echo "a b""#])
        #expect(try ShellWords.split(#"'a\b $HOME'"#) == [#"a\b $HOME"#])
    }

    @Test func doubleQuotesEscapeOnlyFourCharacters() throws {
        #expect(try ShellWords.split(#""a \"b\" \\ \$x \`y\`""#) == [#"a "b" \ $x `y`"#])
        #expect(try ShellWords.split(#""keep \n and \q""#) == [#"keep \n and \q"#])
        #expect(try ShellWords.split(#""it's""#) == ["it's"])
    }

    @Test func backslashOutsideQuotesEscapesTheNextCharacter() throws {
        #expect(try ShellWords.split(#"a\ b c\"d \\"#) == ["a b", #"c"d"#, #"\"#])
        #expect(try ShellWords.split("one\\\ntwo") == ["onetwo"])
    }

    @Test func adjacentPiecesFormOneWordAndEmptyQuotesAreWords() throws {
        #expect(try ShellWords.split(#"a'b'"c"d"#) == ["abcd"])
        #expect(try ShellWords.split("x '' \"\" y") == ["x", "", "", "y"])
    }

    @Test func operatorsAndExpansionsStayLiteral() throws {
        #expect(try ShellWords.split("echo $HOME | cat; ls *") == ["echo", "$HOME", "|", "cat;", "ls", "*"])
    }

    @Test func unterminatedQuotesAreErrorsThatNameTheQuote() throws {
        #expect(throws: ShellWords.Error.unterminatedQuote("'", offset: 6)) {
            try ShellWords.split("sh -c 'echo hi")
        }
        #expect(throws: ShellWords.Error.unterminatedQuote("\"", offset: 5)) {
            try ShellWords.split(#"echo "a \" b"#)
        }
        #expect(throws: ShellWords.Error.trailingBackslash) { try ShellWords.split("abc \\") }
        do {
            _ = try ShellWords.split("it's")
            Issue.record("no error")
        } catch {
            #expect("\(error)" == "unterminated single quote (') opened at offset 2")
        }
    }
}
