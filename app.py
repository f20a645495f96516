from rag.page.server import main  # the page lives in rag/page/; `rag serve` is the same
main()
