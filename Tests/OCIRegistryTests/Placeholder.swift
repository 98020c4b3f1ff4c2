import Testing

@Test func OCIRegistryPlaceholder() { #expect(Bool(true)) }
