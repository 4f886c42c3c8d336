"""A model directory and recordings in, boundaries out: loading model directories and scoring frames
(``detector``), peak picking (``decode``), label-free calibration wrapped around decoding
(``calibrate``), segmenting files and folders (``segment``), output formats (``writers``) and the
ONNX export (``export``)."""
