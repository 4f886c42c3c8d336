"""Audio in, the model's input out: loading any soundfile format (``load``), features on the 10 ms
grid (``features``) and training-time augmentation (``augment``)."""
