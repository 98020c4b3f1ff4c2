import Testing

@Test func OCIPipelinePlaceholder() { #expect(Bool(true)) }
