import Classification

/// HTML (Mustache), CSV, JSON and SVG renderings of classification results.
public enum Reports {}
