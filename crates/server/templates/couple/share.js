// Progressive enhancement of the couple's page: the phone's own share sheet (Web Share
// API) and a copy button where the browser has them. Without JavaScript the WhatsApp and
// email links and the link field do the same.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const share = document.getElementById("share-button");
  const copy = document.getElementById("copy-button");
  const said = document.getElementById("copied");
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", () => {
      navigator.share({ title: share.dataset.title, text: share.dataset.text, url: share.dataset.url }).catch(() => {});
    });
  }
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", () => {
      navigator.clipboard.writeText(copy.dataset.url).then(
        () => { said.textContent = copy.dataset.copied; },
        () => { said.textContent = copy.dataset.failed; },
      );
    });
  }
});
