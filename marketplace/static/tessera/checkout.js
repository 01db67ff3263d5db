(function () {
  const config = document.currentScript.dataset;
  const stripe = Stripe(config.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const form = document.getElementById("payment-form");
  const button = document.getElementById("pay");
  const message = document.getElementById("payment-message");
  const csrf = config.csrfToken;
  function waitForPaid(tries) {
    fetch(config.statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      // Paid, or paid and refunded at once (a line already owned): the receipt says which.
      if (["paid", "refunded", "partially_refunded"].indexOf(data.status) !== -1) { window.location = config.doneUrl; return; }
      if (tries > 60) { message.textContent = "Payment is taking longer than usual. Your receipt and library will show the purchase once it is confirmed."; return; }
      setTimeout(function () { waitForPaid(tries + 1); }, 1000);
    });
  }
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;  // one click, one charge
    message.textContent = "Processing…";
    let result;
    if (config.confirmLocalUrl) {
    const response = await fetch(config.confirmLocalUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({card: (card.value || {}).card}),
    });
    const body = await response.json();
    if (!response.ok) { result = {error: {message: body.error}}; }
    else if (body.status === "requires_action") { result = await stripe.confirmCardPayment(config.clientSecret); }
    else { result = {paymentIntent: body}; }
    } else {
    result = await stripe.confirmCardPayment(config.clientSecret, {payment_method: {card: card}});
    }
    if (result.error) { message.textContent = result.error.message || "The payment failed."; button.disabled = false; return; }
    message.textContent = "Payment received, preparing your downloads…";
    waitForPaid(0);
  });
})();
