import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import Testing

@Suite struct HTTPDateTests {
    let expected = Date(timeIntervalSince1970: 784_111_777)  // 1994-11-06 08:49:37 UTC

    @Test(arguments: [
        "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
        "  Sun, 06 Nov 1994 08:49:37 GMT ",
    ])
    func allThreeFormsOfRFC9110Parse(text: String) {
        #expect(HTTPDate.parse(text) == expected)
    }

    @Test(arguments: [
        "", "yesterday", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 32 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z",
        // Non-ASCII bytes made Foundation's DateFormatter stop the process (found by scripts/fuzz).
        "Sun, 06\u{07F1}ov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT\u{00A0}", "Sun, 29 Feb 1995 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sundae, 06-Nov-94 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
    ])
    func anythingElseIsNotADate(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func formattingProducesIMFFixdate() {
        #expect(HTTPDate.format(expected) == "Sun, 06 Nov 1994 08:49:37 GMT")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(HTTPDate.parse(HTTPDate.format(now)) == now)
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(Date(timeIntervalSince1970: -1)) == "Wed, 31 Dec 1969 23:59:59 GMT")
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(.distantFuture) == "Mon, 01 Jan 4001 00:00:00 GMT")
        #expect(HTTPDate.format(Date(timeIntervalSince1970: 1e300)) == "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(HTTPDate.format(Date(timeIntervalSince1970: .nan)) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    /// Two-digit RFC 850 years are 1970–2069; asctime days may be space-padded or two digits.
    @Test func obsoleteFormsReadTheirYearsAndDays() {
        #expect(HTTPDate.parse("Thursday, 01-Jan-70 00:00:00 GMT") == Date(timeIntervalSince1970: 0))
        #expect(HTTPDate.parse("Friday, 15-Jan-27 08:00:00 GMT") == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(HTTPDate.parse("Fri Jan 15 08:00:00 2027") == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(HTTPDate.parse("Sun Nov 06 08:49:37 1994") == expected)
    }
}

@Suite struct ProblemDocumentTests {
    @Test func aDomainProblemMapsBackToTheDomainError() throws {
        let json =
            #"{"type":"https://plusguidance.example/problems/client_offline","title":"Client is not online","status":409,"code":"client_offline","detail":"Alice is not online"}"#
        let problem = try #require(ProblemDocument.decode(Data(json.utf8)))
        #expect(problem.status == 409)
        #expect(problem.domainError == .clientOffline)
        #expect(problem.domainError?.detail == "Alice is not online")
    }

    @Test func unknownCodesAreKeptButAreNotDomainErrors() throws {
        let problem = try #require(ProblemDocument.decode(Data(#"{"status":410,"code":"cursor_too_old"}"#.utf8)))
        #expect(problem.code == "cursor_too_old")
        #expect(problem.domainError == nil)
    }

    @Test(arguments: ["", "not json", "[1,2]", "\"text\"", "{\"status\":\"409\",\"code\":7}"])
    func malformedAnswersNeverCrash(text: String) {
        let problem = ProblemDocument.decode(Data(text.utf8))
        #expect(problem?.code == nil)
        #expect(problem?.status == nil)
    }
}
