from django.urls import path

from community import views

app_name = "community"
urlpatterns = [
    path("patterns/<int:pk>/review/", views.review_submit, name="review"),
    path("patterns/<int:pk>/favourite/", views.favourite_submit, name="favourite"),
    path("me/favourites/", views.my_favourites, name="favourites"),
    path("collections/<int:pk>/", views.collection_detail, name="collection"),
    # Studio pages (issue 12, h/studio)
    path("creators/<str:username>/follow/", views.follow_submit, name="follow"),
    path("reviews/<int:pk>/reply/", views.review_reply_submit, name="review-reply"),
    path("reviews/<int:pk>/hide/", views.review_hide_submit, name="review-hide"),
    path("patterns/<int:pk>/collect/", views.collect_submit, name="collect"),
]
