// The course website's small fixes to its theme.
document.addEventListener("DOMContentLoaded", () => {
  // pydata-sphinx-theme 0.20 opens the navigation and contents drawers from the first
  // .primary-toggle / .secondary-toggle of the page, which under sphinx-book-theme is a hidden header
  // button (pydata-sphinx-theme issue 2451): the visible buttons forward their click to it.
  for (const kind of ["primary", "secondary"]) {
    const [first, ...others] = document.querySelectorAll(`.${kind}-toggle`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        first.click();
      });
    }
  }
  // A figure opens at full resolution (it is drawn at twice its displayed size) in a new tab.
  for (const image of document.querySelectorAll("main .cell_output img")) {
    if (image.closest("a")) continue;
    const link = document.createElement("a");
    link.href = image.src;
    link.target = "_blank";
    link.title = "Open the figure at full size";
    image.replaceWith(link);
    link.appendChild(image);
  }
});
