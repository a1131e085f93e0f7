import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking
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
    ])
    func anythingElseIsNotADate(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func formattingProducesIMFFixdate() {
        #expect(HTTPDate.format(expected) == "Sun, 06 Nov 1994 08:49:37 GMT")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(HTTPDate.parse(HTTPDate.format(now)) == now)
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
