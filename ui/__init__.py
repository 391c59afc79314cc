"""Streamlit-side helpers of the pages (``nst_core`` never imports this package), one job per module.

The frame and the session: ``preload`` (the first import of the app, one session at a time), ``pages`` (every
page declared once), ``sidebar`` (the frame every page shares),
``state`` (the session's images, preset, weights, device, runs), ``resources`` (process-wide caches around
the core), ``pickers`` (image uploader and picker), ``url_params`` (checked values from the URL).

Visitors and stored runs: ``owner`` (the visitor's cookie token), ``visitors`` (open tabs and the uploads
they hold), ``run_saver`` (the store and the saving of finished runs), ``submit`` (queuing and relaunching
runs), ``shown_runs`` (a finished run as a page shows it), ``links`` (share links), ``gallery`` (lists of
stored runs).

What the pages draw: ``runs`` (this session's runs in words and a table), ``new_run`` and ``run_form`` (the
Run page's launch row and settings), ``run_view`` (a run on the Run page), ``gram_cell``, ``firing_pairs``,
``channel_detail`` and ``clicks`` (the Gram explorer's cell, pairs, drill-down, heatmap clicks),
``lesson_gram``, ``lesson_cost`` and ``layer_ladder`` (the lesson's steps), ``run_picker``, ``gram_match`` and
``loss_views`` (Style vs generated: its run, the numbers of a layer, the views of each style loss), ``latex``
and ``sizing`` (numbers for ``st.latex``, figure heights).
"""
