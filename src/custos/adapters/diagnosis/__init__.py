"""Video quality diagnosis: one keyframe decoded from a sealed segment (PyAV) and measured with
NumPy/OpenCV (``metrics``); the frames kept per camera under ``DATA/diagnosis`` (``analyser``)."""
