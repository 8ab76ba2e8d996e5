extension DemoProject {
    /// sheetsync.yml for a demo project pointing at a running shop.
    public static func settings(shopURL: String) -> String {
        """
        # Written by `sheetsync demo`. The demo shop answered at \(shopURL) while the demo ran,
        # and stopped with it. To run these jobs again, start a shop that stays up:
        #   sheetsync demo serve --port 8080
        # and run them with SHOP_URL=http://127.0.0.1:8080 ERP_URL=http://127.0.0.1:8080
        # SHOP_TOKEN=demo-token in the environment (the environment wins over env: below).
        env:
          SHOP_URL: "\(shopURL)"
          ERP_URL: "\(shopURL)"

        """
    }
}
