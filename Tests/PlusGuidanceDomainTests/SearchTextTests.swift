import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

/// The rules of search that every store shares: folding, words, relevance, snippets.
@Suite struct SearchTextTests {
    func words(_ text: String) -> [String] { SearchText.words(text).map { String(String.UnicodeScalarView($0)) } }

    @Test func foldsLikePythonsCasefoldAndNFKDAndSplitsOnAnythingButLettersAndNumbers() {
        #expect(words("Café résumé!") == ["cafe", "resume"])
        #expect(words("Straße ΣΟΦΟΣ ﬁle ｶﾀｶﾅ x²") == ["strasse", "σοφοσ", "file", "カタカナ", "x2"])
        #expect(words("under_score, hy-phen. 42nd") == ["under", "score", "hy", "phen", "42nd"])
        #expect(words("  !!! ").isEmpty)
        #expect(SearchText.queryTerms("Sleep sleep SLEEP slept").count == 2)
    }

    @Test func relevancePrefersWholeWordsMoreOfTheQueryAndShorterTextsAndIsZeroWithoutEveryWord() {
        let terms = SearchText.queryTerms("sleep")
        let whole = SearchText.relevance(of: "I sleep badly", terms: terms)
        let prefix = SearchText.relevance(of: "I sleepwalk often", terms: terms)
        let twice = SearchText.relevance(of: "sleep, sleep badly", terms: terms)
        let longer = SearchText.relevance(of: "I sleep badly most nights of the week", terms: terms)
        #expect(whole > prefix && twice > whole && whole > longer)
        #expect(SearchText.relevance(of: "I sleep badly", terms: SearchText.queryTerms("sleep cafe")) == 0)
        #expect(SearchText.relevance(of: "anything", terms: SearchText.queryTerms("!!!")) == 0)
    }

    @Test func theASCIIPathScoresExactlyAsTheGeneralOne() {
        let texts = [
            "Sleep, SLEEPLESS and slept", "the breathing exercise again", "42 sleepers at 4am", "a-b_c d",
            "no match here", "",
        ]
        for query in ["slee", "sleep slept", "4", "b c", "the breathing", "zzz"] {
            let terms = SearchText.queryTerms(query)
            for text in texts {
                #expect(
                    SearchText.relevance(of: text, terms: terms)
                        == SearchText.relevance(of: SearchText.words(text), terms: terms), "\(query) in \(text)")
            }
        }
    }

    @Test func aSnippetIsCutAroundTheFirstMatchAtSpaces() {
        let text =
            String(repeating: "filler words here ", count: 10) + "the Schlafstörung came back "
            + String(repeating: "more filler text ", count: 10)
        let snippet = SearchText.snippet(of: text, terms: SearchText.queryTerms("schlafstorung"))
        #expect(snippet.hasPrefix("…") && snippet.hasSuffix("…"))
        #expect(snippet.contains("Schlafstörung") && snippet.count <= 82)
        #expect(SearchText.snippet(of: "short text", terms: SearchText.queryTerms("short")) == "short text")
    }
}
