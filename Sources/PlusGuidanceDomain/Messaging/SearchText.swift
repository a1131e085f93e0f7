import Foundation

/// How text is searched (``SearchHit``): the same rules for the cache's index, for the in-memory
/// store and for anything that checks them.
///
/// Text is *folded*: full Unicode case folding (Python's `str.casefold`, so "Straße" is
/// "strasse"), compatibility decomposition (NFKD, so "ﬁ" is "fi" and half-width katakana is
/// full-width), and nonspacing marks dropped (so "Café" is "cafe" and "Schlafstörung" is
/// "schlafstorung"). A *word* is a run of letters and numbers (general categories L* and N*) of
/// the folded text; anything else separates words. A query matches a text when every word of the
/// query begins a word of the text ("slee" matches "SLEEPLESS"): its `relevance(of:terms:)` is
/// then above zero. A query with no word matches nothing: any text is a query, none is a syntax
/// error.
public enum SearchText {
    /// The folded words of `text`, each as its Unicode scalars.
    public static func words(_ text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var word: [Unicode.Scalar] = []
        forEachFoldedScalar(of: text) { scalar in
            if isWordScalar(scalar) {
                word.append(scalar)
            } else if !word.isEmpty {
                words.append(word)
                word.removeAll(keepingCapacity: true)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// The words of a query, each once, in the order typed.
    public static func queryTerms(_ query: String) -> [[Unicode.Scalar]] {
        var seen = Set<String>()
        return words(query).filter { seen.insert(String(String.UnicodeScalarView($0))).inserted }
    }

    /// How well `words` (a text's) answer `terms` (a query's): 0 when some term begins no word;
    /// otherwise each word a term begins counts 1, 2 when it is the whole word, and the sum is
    /// divided by the square root of the text's word count: more of the query, whole words
    /// before prefixes, in a shorter text.
    public static func relevance(of words: [[Unicode.Scalar]], terms: [[Unicode.Scalar]]) -> Double {
        guard !terms.isEmpty, !words.isEmpty else { return 0 }
        var total = 0
        for term in terms {
            var score = 0
            for word in words where word.starts(with: term) { score += word.count == term.count ? 2 : 1 }
            guard score > 0 else { return 0 }
            total += score
        }
        return Double(total) / Double(words.count).squareRoot()
    }

    /// ``relevance(of:terms:)`` of `text`'s words; ASCII text is read in place, without
    /// making its words (a search checks up to a thousand bodies).
    public static func relevance(of text: String, terms: [[Unicode.Scalar]]) -> Double {
        var text = text
        let folded = terms.map { term in term.allSatisfy(\.isASCII) ? term.map { UInt8($0.value) } : nil }
        let fast = text.withUTF8 { utf8 -> Double? in
            guard !folded.contains(where: { $0 == nil }), utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
            var scores = [Int](repeating: 0, count: folded.count)
            var words = 0
            var index = 0
            let count = utf8.count
            @inline(__always) func fold(_ byte: UInt8) -> UInt8 { (byte &- 0x41) < 26 ? byte | 0x20 : byte }
            @inline(__always) func isWord(_ byte: UInt8) -> Bool { (byte &- 0x61) < 26 || (byte &- 0x30) < 10 }
            while index < count {
                guard isWord(fold(utf8[index])) else {
                    index += 1
                    continue
                }
                let start = index
                while index < count, isWord(fold(utf8[index])) { index += 1 }
                words += 1
                for (number, term) in folded.enumerated() {
                    let term = term!
                    guard term.count <= index - start else { continue }
                    var same = true
                    for offset in 0..<term.count where fold(utf8[start + offset]) != term[offset] {
                        same = false
                        break
                    }
                    if same { scores[number] += term.count == index - start ? 2 : 1 }
                }
            }
            guard words > 0, !scores.contains(0) else { return 0 }
            return Double(scores.reduce(0, +)) / Double(words).squareRoot()
        }
        return fast ?? relevance(of: words(text), terms: terms)
    }

    /// Calls `body` with each scalar of `text` folded. ASCII text, most of it, is folded byte by
    /// byte (its case folding is lowercasing and it has nothing to decompose); other text goes
    /// through Foundation's case folding and NFKD.
    @_spi(PlusGuidanceTools) public static func forEachFoldedScalar(of text: String, _ body: (Unicode.Scalar) -> Void) {
        var text = text
        let ascii = text.withUTF8 { utf8 in
            guard utf8.allSatisfy({ $0 < 0x80 }) else { return false }
            for byte in utf8 {
                body(Unicode.Scalar((byte &- 0x41) < 26 ? byte | 0x20 : byte))
            }
            return true
        }
        guard !ascii else { return }
        let folded = text.folding(options: [.caseInsensitive], locale: nil).decomposedStringWithCompatibilityMapping
        for scalar in folded.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
            body(scalar)
        }
    }

    @_spi(PlusGuidanceTools) public static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (value &- 0x61) < 26 || (value &- 0x30) < 10 || (value &- 0x41) < 26
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// A short excerpt of `text` around its first word that a term begins: at most about
    /// `width` characters, with "…" where it was cut. The text itself when no word matches.
    public static func snippet(of text: String, terms: [[Unicode.Scalar]], width: Int = 80) -> String {
        let characters = Array(text)
        guard characters.count > width else { return text }
        // The first character whose word (as folded) a term begins.
        var start = 0
        var index = 0
        var found: Int?
        while index < characters.count, found == nil {
            let isWord = String(characters[index]).unicodeScalars.contains(where: isWordScalar)
            if isWord {
                start = index
                while index < characters.count,
                    String(characters[index]).unicodeScalars.contains(where: isWordScalar)
                {
                    index += 1
                }
                let word = words(String(characters[start..<index])).first ?? []
                if terms.contains(where: { word.starts(with: $0) }) { found = start }
            } else {
                index += 1
            }
        }
        let center = found ?? 0
        var lower = max(0, center - width / 4)
        let upper = min(characters.count, lower + width)
        lower = max(0, min(lower, upper - width))
        // Cut at spaces where there are any near the edges, not inside a word.
        var from = lower
        if from > 0, let space = characters[from..<center].firstIndex(of: " ") { from = space + 1 }
        var to = upper
        if to < characters.count, let space = characters[center..<to].lastIndex(of: " "), space > center {
            to = space
        }
        return (from > 0 ? "…" : "") + String(characters[from..<to]) + (to < characters.count ? "…" : "")
    }
}

/// A message that matched a search, with an excerpt around what matched.
public struct SearchHit: Sendable, Hashable {
    public var message: Message
    /// At most about 80 characters of the body around its first matching word.
    public var snippet: String

    public init(message: Message, snippet: String) {
        self.message = message
        self.snippet = snippet
    }
}
