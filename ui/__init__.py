"""Streamlit-side helpers shared by the pages (``nst_core`` never imports this package).

- ``ui.state``: the session's choices: ``current_content()``, ``current_style()`` (``PickedImage``),
  ``current_preset()``, ``current_weights()``, ``current_device()``, the runs registry
  (``register_run``, ``runs``) and generated images (``register_generated``, ``generated_images``,
  ``latest_generated``).
- ``ui.resources``: process-wide resources and caches: ``get_extractor()``, ``get_executor()``,
  ``activations()``, ``gram()``, ``ordering()``, ``analysed_rgb()``, the ImageNet weights download.
- ``ui.sidebar``: ``render_frame()``, the sidebar every page shares (called by ``app.py``).
- ``ui.pickers``: ``image_uploader()`` (validated uploads) and ``analysed_image_picker()``.
- ``ui.latex``: ``number()`` for numbers written in ``st.latex``.
"""
