import ECGCore

/// The K-MERL lead-aware encoder, its numeric kernels, training and safetensors I/O.
public enum KMERLModel {}
