from django.urls import path

from community import views

app_name = "community"
urlpatterns = [
    path("patterns/<int:pk>/review/", views.review_submit, name="review"),
    path("patterns/<int:pk>/favourite/", views.favourite_submit, name="favourite"),
    path("me/favourites/", views.my_favourites, name="favourites"),
    path("collections/<int:pk>/", views.collection_detail, name="collection"),
]
