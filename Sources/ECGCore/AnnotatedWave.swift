/// A wave (P, QRS or T) with its boundaries in sample indices, as delineated in a WFDB annotation
/// file (`(` onset, peak symbol, `)` offset) or by an expert reference.
public struct AnnotatedWave: Sendable, Hashable {
    /// The wave's kind, from the peak symbol: `p`, `N` (QRS) or `t`.
    public var kind: String
    public var onset: Int?
    public var peak: Int
    public var offset: Int?

    /// A wave from its samples.
    public init(kind: String, onset: Int?, peak: Int, offset: Int?) {
        self.kind = kind
        self.onset = onset
        self.peak = peak
        self.offset = offset
    }
}
