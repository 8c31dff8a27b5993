/* The page of an endpoint that does not exist: what the server said, and the way back. */
(function () {
  "use strict";
  const MM = window.MM;
  MM.start((root) => {
    const message = MM.config.error || "not found";
    MM.clear(root);
    MM.append(root, [MM.h("h1", {}, "Not found"),
      MM.h("div", { class: "error", role: "alert" }, message.length > 600 ? `${message.slice(0, 600)}…` : message),
      MM.h("p", {}, MM.h("a", { href: "/" }, "← all endpoints"))]);
    root.dataset.ready = "true";
  });
})();
