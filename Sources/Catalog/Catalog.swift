/// Placeholder for the publishing module (issue 7).
enum CatalogPlaceholder {}
