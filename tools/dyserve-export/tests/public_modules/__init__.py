"""Our own re-implementations of DY modules from public repositories, for the exporter's tests.

Each file re-implements one repository's modules with the same parameter and buffer names, shapes,
attributes and forward computation (learned by reading the repository's code), so that a network a
user built with those modules looks, to the exporter, exactly like the real thing. No code is copied.

- kaijieshi.py: kaijieshi7/Dynamic-convolution-Pytorch, `attention2d` and `Dynamic_conv2d`.
- islanna.py: Islanna/DynamicReLU, `DyReLU`, `DyReLUA`, `DyReLUB`.
- dynamichead.py: microsoft/DynamicHead, `h_sigmoid` and `DYReLU`.
"""
