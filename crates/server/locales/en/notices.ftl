# What an account is told (notifications in the app and by email), tiers and perks, and the
# emails' own words (issue 15). English: suppliers read these in the app too.
credits = { $count ->
    [one] { $amount } credit
   *[other] { $amount } credits
}
money = { $amount } { $currency }
tier-bronze = Bronze
tier-silver = Silver
tier-gold = Gold
tier-platinum = Platinum
tier-first = First
tier-active = Active
tier-champion = Champion
perk-month_free = a month of your plan free
perk-upgrade_discount = a discount when you upgrade your plan
perk-annual_discount = a discount on annual billing
perk-lifetime_perks = perks for life, kept whatever your plan
perk-vendor_discount = discounts from suppliers on Bouquet
perk-premium_planning = premium planning tools unlocked
perk-exclusive_vendors = access to exclusive suppliers
notice-earned-title = You earned { $amount }
notice-earned-body = { $reason }.
notice-earned-when = It can be claimed from { $day } once the customer has stayed past the holding period.
notice-eligible-title = { $amount } ready to claim
notice-eligible-body = { $reason }: the holding period is over.
notice-eligible-until = Claim it before { $day }.
notice-tier-title = You reached the { $tier } tier
notice-tier-body = { $tier } tier ({ $count ->
    [one] 1 successful referral
   *[other] { $count } successful referrals
}): { $perk }.
notice-held-title = A referral is being reviewed
notice-held-body = A recent conversion through your referral is held for a routine review, and { $amount } with it. Nothing is needed from you; you will hear when it is decided.
notice-approved-title = Your referral was approved
notice-approved-body = The review is done: { $amount } is yours again and counts toward your tier.
notice-rejected-title = Your referral was not approved
notice-rejected-body = The review found this conversion does not qualify, so { $amount } was voided. Reply to this email if you think that is wrong.
notice-campaign-title = { $name } has started
notice-campaign-body = Referrals you make until { $day } count toward { $name }.
notice-campaign-boost-body = Referrals you make until { $day } count toward { $name }: { $boost }.
notice-campaign-multiplier = rewards × { $factor }
notice-campaign-bonus = a bonus of { $amount } per conversion
notice-campaign-and = { $first } and { $second }
email-hello = Hello,
email-hello-name = Hello { $name },
email-why-couple = You receive this because of your Bouquet account. Choose which of these emails you get on your Bouquet page: { $link }
email-why-supplier = You receive this because of your Bouquet account. Choose which of these emails you get in the Bouquet app: Settings → Notifications.
sign-in-subject = Your Bouquet sign-in link
sign-in-tap = Tap this link to sign in to your Bouquet page:
sign-in-once = It works once, for { $minutes } minutes. If you did not ask for it, ignore this email: nobody can sign in without it.
invitation-subject = { $supplier } has invited you to Bouquet
invitation-title = Your invitation from { $supplier }
invitation-link = Your invitation from { $supplier }: { $link }
invitation-or-type = (or type the code { $code } at Bouquet)
invitation-open = Open your invitation
invitation-qr-alt = QR code of your invitation link
invitation-scan = Or scan the code with your phone, or type { $code } at Bouquet.
invitation-why = You received this because { $supplier } invited you.
invitation-unsubscribe-text = To receive no more invitations from anyone through Bouquet, unsubscribe: { $link }
invitation-unsubscribe = Unsubscribe
invitation-unsubscribe-html = to receive no more invitations from anyone through Bouquet.
