import ECGCore

/// Readers for WFDB (incl. `.mat`), HL7 aECG and CSV ECG files, and record discovery.
public enum ECGFormats {}
