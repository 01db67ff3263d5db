"""Recommendations (issue 13): "frequently bought together", "buyers also viewed", "complete the project",
"recommended for you" and cart suggestions.

``services`` recomputes the ``analytics.Recommendation`` table from paid orders, page views and the catalogue's
embeddings (a periodic task, ``analytics.tasks.recommendations_recompute``); ``selectors`` reads it for pages (the
template tags in ``analytics.templatetags.recommendations``) and the API. Nothing is computed on a request.
"""
