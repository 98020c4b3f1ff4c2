import Testing

@Test func catalogPlaceholder() { #expect(Bool(true)) }
