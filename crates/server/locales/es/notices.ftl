# Lo que se cuenta a una cuenta (avisos en la aplicación y por correo), niveles y ventajas,
# y las palabras propias de los correos (issue 15). Español.
credits = { $count ->
    [one] { $amount } crédito
   *[other] { $amount } créditos
}
money = { $amount } { $currency }
tier-bronze = Bronce
tier-silver = Plata
tier-gold = Oro
tier-platinum = Platino
tier-first = Primeros pasos
tier-active = Activos
tier-champion = Campeones
perk-month_free = un mes de tu plan gratis
perk-upgrade_discount = un descuento al mejorar tu plan
perk-annual_discount = un descuento en la facturación anual
perk-lifetime_perks = ventajas para siempre, sea cual sea tu plan
perk-vendor_discount = descuentos de proveedores de Bouquet
perk-premium_planning = herramientas de planificación premium desbloqueadas
perk-exclusive_vendors = acceso a proveedores exclusivos
notice-earned-title = Has ganado { $amount }
notice-earned-body = { $reason }.
notice-earned-when = Podrás canjearlo a partir del { $day }, cuando el cliente haya superado el periodo de espera.
notice-eligible-title = { $count ->
    [one] { $amount } listo para canjear
   *[other] { $amount } listos para canjear
}
notice-eligible-body = { $reason }: el periodo de espera ha terminado.
notice-eligible-until = Canjéalo antes del { $day }.
notice-tier-title = Has alcanzado el nivel { $tier }
notice-tier-body = Nivel { $tier } ({ $count ->
    [one] 1 recomendación con éxito
   *[other] { $count } recomendaciones con éxito
}): { $perk }.
notice-held-title = Estamos revisando una recomendación
notice-held-body = Una conversión reciente a través de tu recomendación está retenida para una revisión rutinaria, y { $amount } con ella. No tienes que hacer nada; te avisaremos cuando se decida.
notice-approved-title = Tu recomendación ha sido aprobada
notice-approved-body = La revisión ha terminado: { $count ->
    [one] { $amount } vuelve a ser tuyo
   *[other] { $amount } vuelven a ser tuyos
} y la recomendación cuenta para tu nivel.
notice-rejected-title = Tu recomendación no ha sido aprobada
notice-rejected-body = La revisión ha concluido que esta conversión no cumple los requisitos, así que { $count ->
    [one] { $amount } se ha anulado
   *[other] { $amount } se han anulado
}. Responde a este correo si crees que es un error.
notice-campaign-title = Ha empezado { $name }
notice-campaign-body = Las recomendaciones que hagas hasta el { $day } cuentan para { $name }.
notice-campaign-boost-body = Las recomendaciones que hagas hasta el { $day } cuentan para { $name }: { $boost }.
notice-campaign-multiplier = recompensas × { $factor }
notice-campaign-bonus = una bonificación de { $amount } por conversión
notice-campaign-and = { $first } y { $second }
email-hello = Hola:
email-hello-name = Hola, { $name }:
email-why-couple = Recibes este correo por tu cuenta de Bouquet. Elige qué correos recibes en tu página de Bouquet: { $link }
email-why-supplier = Recibes este correo por tu cuenta de Bouquet. Elige qué correos recibes en la aplicación Bouquet: Ajustes → Avisos.
sign-in-subject = Tu enlace para entrar en Bouquet
sign-in-tap = Toca este enlace para entrar en tu página de Bouquet:
sign-in-once = Funciona una sola vez, durante { $minutes } minutos. Si no lo has pedido, ignora este correo: nadie puede entrar sin él.
invitation-subject = { $supplier } te ha invitado a Bouquet
invitation-title = Tu invitación de { $supplier }
invitation-link = Tu invitación de { $supplier }: { $link }
invitation-or-type = (o escribe el código { $code } en Bouquet)
invitation-open = Abre tu invitación
invitation-qr-alt = Código QR del enlace de tu invitación
invitation-scan = O escanea el código con el móvil, o escribe { $code } en Bouquet.
invitation-why = Recibes este correo porque { $supplier } te ha invitado.
invitation-unsubscribe-text = Para no recibir más invitaciones de nadie a través de Bouquet, date de baja: { $link }
invitation-unsubscribe = Darte de baja
invitation-unsubscribe-html = para no recibir más invitaciones de nadie a través de Bouquet.
